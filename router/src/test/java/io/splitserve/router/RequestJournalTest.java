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
import java.util.List;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptTailer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The router's journal across a reopen: what was accepted and not completed comes back as unfinished, the highest
 * router id survives, every line is a {@link JournalRecord}, and a journal holding a line that is not an entry fails
 * to open with an error naming the directory and the line.
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
            assertEquals(List.of(new RequestJournal.Unfinished(1, 10, 100), new RequestJournal.Unfinished(3, 11, 102)),
                    journal.unfinished());
            assertEquals(3, journal.highestRouterId());
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
