package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.demo.DemoModel;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import io.splitserve.sbe.KvPath;
import io.splitserve.sbe.KvTransferStatus;
import io.splitserve.sbe.NodeRole;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import org.agrona.concurrent.CachedNanoClock;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A router restart over a journal with unfinished requests, stepped one event at a time (a real journal, a real
 * {@link RequestScheduler} with recorded node commands, a hand-stepped clock): the Aeron client that says hello again
 * gets each of its sound requests continued: the tokens the journal holds replayed with their indices, then one
 * attempt re-prefilling prompt + those tokens with the remaining max tokens, the same seed and the sampler's counter
 * at their number, whose tokens follow with the next indices and are journaled; a damaged or incomplete entry, and a
 * request already recovered {@code maxRecoveries} times, fail with one ROUTER_RESTARTED error naming why; HTTP
 * requests are closed at once; other clients' requests wait for their own hello.
 */
class RestartedRequestsTest {
    private static final int MAX_RECOVERIES = 2;
    private static ServedModel model;

    @TempDir
    Path journalDir;

    private final CachedNanoClock clock = new CachedNanoClock();
    private final List<String> log = new ArrayList<>();
    private final RouterMetrics metrics = new RouterMetrics();
    private final Map<Integer, RecordingNodeCommands> commands = new HashMap<>();
    private final NodeRegistry registry = new NodeRegistry("demo", 1_000,
            (channel, streamId) -> commands.computeIfAbsent(streamId - 10_000, id -> new RecordingNodeCommands()));
    private final Map<String, RecordingListener> clients = new HashMap<>();

    @BeforeAll
    static void loadModel() throws Exception {
        model = ServedModel.load(DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION)
                .toAbsolutePath()), "demo");
    }

    private void hello(int nodeId, NodeRole role) {
        registry.onHello(nodeId, 500 + nodeId, role, 100, 4, "demo", "aeron:ipc", 10_000 + nodeId, "aeron:ipc",
                30_000 + nodeId, "aeron:ipc", 40_000 + nodeId, new byte[0], clock.nanoTime());
    }

    private RecordingListener client(long clientId, long requestId) {
        return clients.computeIfAbsent(clientId + ":" + requestId, k -> new RecordingListener());
    }

    private RequestScheduler scheduler(RequestJournal journal) {
        final RouterContext ctx = new RouterContext().queueTimeoutNs(5_000).nanoClock(clock)
                .epochNanoClock(() -> 0L).log(log::add);
        return new RequestScheduler(ctx, registry, new JsqPlacement(1.0), metrics, journal, model.tokenizer(),
                journal.highestRouterId());
    }

    /** The journal an earlier router run left behind. */
    private void earlierRun() {
        try (ChronicleQueue queue = ChronicleQueue.singleBuilder(journalDir).build()) {
            final ExcerptAppender a = queue.createAppender();
            a.writeText("A 1 7 42 5 0.8 0.9 0 99 1,2,3  ");  // seeded, 2 of 5 tokens delivered
            a.writeText("D 1 0 30");
            a.writeText("D 1 1 31");
            a.writeText("A 2 7 43 5 0.0 1.0 0 0 1,2  ");     // incomplete: token 1 missing
            a.writeText("D 2 0 30");
            a.writeText("D 2 2 32");
            a.writeText("A 3 7 44 5 0.0 1.0 0 0 1  ");       // completed
            a.writeText("C 3 completed length");
            a.writeText("A 4 0 0 5 0.0 1.0 0 0 1  ");        // HTTP
            a.writeText("A 5 8 1 5 0.0 1.0 0 0 1  ");        // another client
            a.writeText("A 6 7 45 5 0.0 1.0 0 0 4  ");       // already continued twice
            a.writeText("R 6");
            a.writeText("R 6");
        }
    }

    @Test
    void aReconnectingClientsRequestsContinueWhereTheJournalLeftThem() {
        earlierRun();
        try (RequestJournal journal = new RequestJournal(journalDir)) {
            final RequestScheduler scheduler = scheduler(journal);
            final RestartedRequests restarted = new RestartedRequests(journal, metrics, model, MAX_RECOVERIES,
                    log::add);
            assertEquals(2, restarted.clientsWaiting(), "clients 7 and 8; the HTTP request is closed at once");
            assertEquals(0, restarted.onClientHello(9, scheduler, this::client));

            assertEquals(3, restarted.onClientHello(7, scheduler, this::client));
            final RecordingListener continued = client(7, 42);
            assertEquals(List.of(new RecordingListener.Event(0, 30, FinishReason.NONE),
                    new RecordingListener.Event(1, 31, FinishReason.NONE)), continued.tokens,
                    "the journaled tokens again, with their indices");
            assertEquals(ErrorCode.ROUTER_RESTARTED, client(7, 43).errorCode);
            assertEquals("the router restarted before request 43 completed and cannot continue it: its journal"
                    + " entry is damaged: its journal holds tokens from index 2 after only 1 delivered tokens",
                    client(7, 43).errorMessage);
            assertEquals(ErrorCode.ROUTER_RESTARTED, client(7, 45).errorCode);
            assertTrue(client(7, 45).errorMessage.endsWith("it was already continued after 2 restart(s), the limit"
                    + " (--max-recoveries 2)"), client(7, 45).errorMessage);
            assertTrue(client(7, 45).tokens.isEmpty());
            assertNull(client(7, 44).errorCode, "a completed request is not touched");
            assertEquals(2, metrics.rejected.get(ErrorCode.ROUTER_RESTARTED)[0]);
            assertEquals(1, metrics.recovered);
            assertEquals(2, log.size(), "one log line per failed request: " + log);
            assertEquals(0, restarted.onClientHello(7, scheduler, this::client), "once");
            assertEquals(1, scheduler.queued());

            hello(1, NodeRole.PREFILL);
            hello(101, NodeRole.DECODE);
            assertEquals(1, scheduler.dispatch());
            final RecordingNodeCommands.Sent prefill = commands.get(1).last("prefill");
            assertArrayEquals(new int[] {1, 2, 3, 30, 31}, prefill.prompt(), "prompt + delivered tokens");
            assertEquals(3, prefill.maxNewTokens(), "the tokens still allowed");
            assertEquals(2, prefill.sampledBefore(), "the sampler's counter starts after the delivered tokens");
            assertEquals(99L, prefill.request().seed());
            assertEquals(0.8f, prefill.request().temperature());
            assertEquals(2, commands.get(101).last("admit").sampledBefore());

            scheduler.onFirstToken(prefill.attemptId(), 32, 0);
            scheduler.onPrefillDone(prefill.attemptId(), 32, KvTransferStatus.OK.value(), KvPath.HOST, 10);
            scheduler.onNodeToken(prefill.attemptId(), 1, 33, 0);
            assertEquals(List.of(30, 31, 32, 33), continued.tokenIds(), "indices 2 and 3 follow, no gap");
            assertEquals(1, journal.flush(), "the continuation's tokens are journaled");
        }
        try (RequestJournal later = new RequestJournal(journalDir)) {
            final List<RequestJournal.Unfinished> open = later.unfinished();
            assertEquals(2, open.size(), "request 1 still runs; client 8's waits for its hello");
            assertEquals(1, open.get(0).routerId());
            assertArrayEquals(new int[] {30, 31, 32, 33}, open.get(0).delivered());
            assertEquals(1, open.get(0).recoveries());
            assertEquals(5, open.get(1).routerId());
            assertEquals(6, later.highestRouterId());
        }
    }

    @Test
    void aContinuationWhoseJournaledTokensAlreadyEndItCompletesWithoutRunning() {
        try (ChronicleQueue queue = ChronicleQueue.singleBuilder(journalDir).build()) {
            final ExcerptAppender a = queue.createAppender();
            a.writeText("A 1 7 42 2 0.0 1.0 0 0 1,2  ");
            a.writeText("D 1 0 30,31"); // max tokens reached; the completion was never journaled
        }
        try (RequestJournal journal = new RequestJournal(journalDir)) {
            final RequestScheduler scheduler = scheduler(journal);
            final RestartedRequests restarted = new RestartedRequests(journal, metrics, model, MAX_RECOVERIES,
                    log::add);
            assertEquals(1, restarted.onClientHello(7, scheduler, this::client));
            assertEquals(List.of(new RecordingListener.Event(0, 30, FinishReason.NONE),
                    new RecordingListener.Event(1, 31, FinishReason.LENGTH)), client(7, 42).tokens);
            assertEquals(0, scheduler.queued());
            assertEquals(0, scheduler.active());
        }
        try (RequestJournal later = new RequestJournal(journalDir)) {
            assertTrue(later.unfinished().isEmpty(), "journaled as completed");
        }
    }

    @Test
    void zeroRecoveriesReportsEveryUnfinishedRequest() {
        earlierRun();
        try (RequestJournal journal = new RequestJournal(journalDir)) {
            final RestartedRequests restarted = new RestartedRequests(journal, metrics, model, 0, log::add);
            assertEquals(3, restarted.onClientHello(7, scheduler(journal), this::client));
            assertEquals(ErrorCode.ROUTER_RESTARTED, client(7, 42).errorCode);
            assertTrue(client(7, 42).tokens.isEmpty());
        }
    }
}
