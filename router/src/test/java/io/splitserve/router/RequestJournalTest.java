package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.demo.DemoModel;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import io.splitserve.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The router's journal across a reopen: what was accepted and not completed comes back as unfinished with the tokens
 * it delivered (journaled one entry per request per flush) and its recoveries, the highest router id survives, every
 * line is a {@link JournalRecord}, a damaged or incomplete entry marks only its own request, and a journal holding a
 * line that names no request fails to open with an error naming the directory and the line.
 */
class RequestJournalTest {
    private static Tokenizer tokenizer;

    @TempDir
    Path dir;

    @BeforeAll
    static void loadTokenizer() throws Exception {
        final Path demo = DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
        tokenizer = Tokenizer.load(demo.resolve("tokenizer.json"));
    }

    private static RouterRequest request(long routerId, long clientId, long clientRequestId, int[] prompt) {
        final ValidatedRequest v = new ValidatedRequest(prompt, 32, 0.5f, 0.9f, 20, 1234L, List.of(), new int[0]);
        return new RouterRequest(routerId, clientId, clientRequestId, v, new ResponseListener() {
            @Override
            public void onToken(int index, int tokenId, String text, FinishReason finish, long epochNanos,
                                int promptTokens) {
            }

            @Override
            public void onError(ErrorCode code, String message) {
            }
        }, tokenizer, 1, 0L);
    }

    @Test
    void acceptedButNotCompletedRequestsAreUnfinishedAfterAReopen() {
        try (RequestJournal journal = new RequestJournal(dir)) {
            journal.accepted(request(1, 10, 100, new int[] {5, 6}));
            journal.accepted(request(2, 10, 101, new int[] {7}));
            journal.accepted(request(3, 11, 102, new int[] {8, 9, 10}));
            journal.completed(2, "completed stop");
        }
        try (RequestJournal journal = new RequestJournal(dir)) {
            assertEquals(List.of("1 10 100 [5, 6] [] 0 null", "3 11 102 [8, 9, 10] [] 0 null"),
                    describe(journal.unfinished()));
            assertEquals(3, journal.highestRouterId());
        }
    }

    /** Router id, client id, client request id, prompt, delivered tokens, recoveries and damage of each. */
    private static List<String> describe(List<RequestJournal.Unfinished> unfinished) {
        final List<String> out = new ArrayList<>();
        for (RequestJournal.Unfinished u : unfinished) {
            out.add(u.routerId() + " " + u.clientId() + " " + u.clientRequestId() + " "
                    + (u.accepted() == null ? "-" : Arrays.toString(u.accepted().promptTokens())) + " "
                    + Arrays.toString(u.delivered()) + " " + u.recoveries() + " " + u.damage());
        }
        return out;
    }

    private static void deliver(RequestJournal journal, RouterRequest r, int... tokens) {
        for (int token : tokens) {
            r.delivered.addInt(token);
            journal.delivered(r);
        }
    }

    @Test
    void deliveredTokensAreJournaledOneEntryPerRequestPerFlushAndComeBackInOrder() {
        final List<String> lines = new ArrayList<>();
        try (RequestJournal journal = new RequestJournal(dir)) {
            final RouterRequest a = request(1, 10, 100, new int[] {5});
            final RouterRequest b = request(2, 10, 101, new int[] {6});
            journal.accepted(a);
            journal.accepted(b);
            deliver(journal, a, 40, 41);
            deliver(journal, b, 50);
            assertEquals(2, journal.flush(), "one entry for each request, whatever its number of tokens");
            assertEquals(0, journal.flush(), "nothing new");
            deliver(journal, a, 42);
            journal.recovered(1);
            assertEquals(1, journal.flush());
            deliver(journal, a, 43); // delivered, never flushed: lost with the router, sent again by a continuation
        }
        try (ChronicleQueue queue = ChronicleQueue.singleBuilder(dir).readOnly(true).build()) {
            final ExcerptTailer tailer = queue.createTailer();
            for (String line = tailer.readText(); line != null; line = tailer.readText()) {
                lines.add(line);
            }
        }
        assertEquals(List.of("D 1 0 40,41", "D 2 0 50", "R 1", "D 1 2 42"), lines.subList(2, lines.size()));
        try (RequestJournal journal = new RequestJournal(dir)) {
            assertEquals(List.of("1 10 100 [5] [40, 41, 42] 1 null", "2 10 101 [6] [50] 0 null"),
                    describe(journal.unfinished()));
        }
    }

    @Test
    void aCompletedRequestsTokensAreNotJournaledAfterItsCompletion() {
        try (RequestJournal journal = new RequestJournal(dir)) {
            final RouterRequest a = request(1, 10, 100, new int[] {5});
            journal.accepted(a);
            deliver(journal, a, 40);
            a.phase = RouterRequest.Phase.DONE;
            journal.completed(1, "completed stop");
            assertEquals(0, journal.flush());
        }
        try (RequestJournal journal = new RequestJournal(dir)) {
            assertTrue(journal.unfinished().isEmpty());
        }
    }

    @Test
    void aDamagedEntryMarksOnlyItsOwnRequest() {
        try (ChronicleQueue queue = ChronicleQueue.singleBuilder(dir).build()) {
            final ExcerptAppender appender = queue.createAppender();
            appender.writeText("A 1 10 100 32 0.0 1.0 0 0 5,6  ");
            appender.writeText("A 2 10 101 32 0.0 1.0 0 0 7,x  ");  // damaged acceptance, ids readable
            appender.writeText("A 3 10 102 32 0.0 1.0 0 0 8  ");
            appender.writeText("D 3 0 60");
            appender.writeText("D 3 2 62");                         // index 1 missing: incomplete
            appender.writeText("A 4 11 103 32 0.0 1.0 0 0 9  ");
            appender.writeText("D 4 0 70,");                        // damaged delivery
            appender.writeText("D 1 0 40");
            appender.writeText("D 99 0 1");                         // a request the journal never accepted
        }
        try (RequestJournal journal = new RequestJournal(dir)) {
            assertEquals(List.of(
                    "1 10 100 [5, 6] [40] 0 null",
                    "2 10 101 - [] 0 malformed journal entry 'A 2 10 101 32 0.0 1.0 0 0 7,x  ': prompt token 1 'x' is"
                            + " not a 32-bit integer",
                    "3 10 102 [8] [60] 0 its journal holds tokens from index 2 after only 1 delivered tokens",
                    "4 11 103 [9] [] 0 malformed journal entry 'D 4 0 70,': delivered token 1 '' is not a 32-bit"
                            + " integer"), describe(journal.unfinished()));
            assertEquals(99, journal.highestRouterId());
        }
    }

    @Test
    void everyLineIsAJournalRecordCarryingTheRequest() {
        try (RequestJournal journal = new RequestJournal(dir)) {
            journal.accepted(request(4, 12, 103, new int[] {11, 12, 13}));
            journal.completed(4, "failed router-restarted");
        }
        final List<JournalRecord> entries = new ArrayList<>();
        try (ChronicleQueue queue = ChronicleQueue.singleBuilder(dir).readOnly(true).build()) {
            final ExcerptTailer tailer = queue.createTailer();
            for (String line = tailer.readText(); line != null; line = tailer.readText()) {
                entries.add(JournalRecord.parse(line));
            }
        }
        assertEquals(2, entries.size());
        final JournalRecord.Accepted a = assertInstanceOf(JournalRecord.Accepted.class, entries.get(0));
        assertEquals(12, a.clientId());
        assertEquals(32, a.maxNewTokens());
        assertEquals(0.5f, a.temperature());
        assertEquals(0.9f, a.topP());
        assertEquals(20, a.topK());
        assertEquals(1234L, a.seed());
        assertArrayEquals(new int[] {11, 12, 13}, a.promptTokens());
        assertEquals("failed router-restarted",
                assertInstanceOf(JournalRecord.Completed.class, entries.get(1)).outcome());
    }

    @Test
    void aJournalWithAForeignLineFailsToOpenSayingWhere() throws Exception {
        try (ChronicleQueue queue = ChronicleQueue.singleBuilder(dir).build()) {
            queue.createAppender().writeText("hello from another program");
        }
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new RequestJournal(dir));
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("'hello from another program'"), e.getMessage());
        assertTrue(Files.isDirectory(dir));
    }
}
