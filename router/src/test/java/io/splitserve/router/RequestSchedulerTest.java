package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.agrona.concurrent.CachedNanoClock;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A request's life in the router stepped one node event at a time, with a hand-stepped clock, recorded node
 * commands and a recording listener (no Aeron): placement, the first token overtaken by the second, the first token
 * ahead of its KV transfer's end (FirstToken) and what follows it, failover of a decode node's and a prefill node's
 * attempts, NODE_FAILED, preemption, KV transfer failures and the attempt limit,
 * REJECTED_NO_MEMORY waiting for room, the queue timeout, unknown statuses, cancel, and KV-aware placement's memory
 * of where prompts went. Page size 4; prompt of
 * 5 tokens; node ids 1-2 prefill, 101-102 decode; heartbeat timeout 1000 ns, queue timeout 5000 ns.
 */
class RequestSchedulerTest {
    private static final long HEARTBEAT_TIMEOUT_NS = 1_000;
    private static final long QUEUE_TIMEOUT_NS = 5_000;
    private static final int[] PROMPT = {11, 12, 13, 14, 15};
    private static ServedModel model;

    private final CachedNanoClock clock = new CachedNanoClock();
    private final List<String> log = new ArrayList<>();
    private final RouterMetrics metrics = new RouterMetrics();
    private final Map<Integer, RecordingNodeCommands> commands = new HashMap<>();
    private final NodeRegistry registry = new NodeRegistry("demo", HEARTBEAT_TIMEOUT_NS,
            (channel, streamId) -> commands.computeIfAbsent(streamId - 10_000, id -> new RecordingNodeCommands()));
    private RequestScheduler scheduler = scheduler(4);

    @BeforeAll
    static void loadModel() throws Exception {
        model = ServedModel.load(DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION)
                .toAbsolutePath()), "demo");
    }

    private RequestScheduler scheduler(int maxAttempts) {
        final RouterContext ctx = new RouterContext().maxAttempts(maxAttempts).queueTimeoutNs(QUEUE_TIMEOUT_NS)
                .nanoClock(clock).epochNanoClock(() -> 0L).log(log::add);
        final RequestScheduler s = new RequestScheduler(ctx, registry, new JsqPlacement(1.0), metrics, null,
                model.tokenizer(), 0);
        registry.deathListener(s::onNodeDied);
        return s;
    }

    private void hello(int nodeId, NodeRole role, int pages) {
        registry.onHello(nodeId, 500 + nodeId, role, pages, 4, "demo", "aeron:ipc", 10_000 + nodeId, "aeron:ipc",
                30_000 + nodeId, "aeron:ipc", 40_000 + nodeId, new byte[0], clock.nanoTime());
    }

    private RecordingNodeCommands node(int nodeId) {
        return commands.get(nodeId);
    }

    private RecordingListener submit(int maxNewTokens) {
        final RecordingListener listener = new RecordingListener();
        scheduler.accept(0, 0, new ValidatedRequest(PROMPT, maxNewTokens, 0f, 1f, 0, 0, List.of(), new int[0]),
                listener);
        return listener;
    }

    /** Places the queued requests and returns the attempt id the prefill node {@code prefillNodeId} was sent. */
    private long placeOn(int prefillNodeId) {
        assertEquals(1, scheduler.dispatch(), "one request placed");
        return node(prefillNodeId).last("prefill").attemptId();
    }

    private void ok(long attemptId, int firstToken) {
        scheduler.onPrefillDone(attemptId, firstToken, KvTransferStatus.OK.value(), KvPath.HOST, 100);
    }

    private long kvTransfers(KvPath path, boolean ok) {
        return metrics.kvTransfersByPath[path == KvPath.HOST ? 0 : path == KvPath.GPU ? 1 : 2][ok ? 0 : 1];
    }

    private long retries(RetryReason reason) {
        return metrics.retries[reason.ordinal()];
    }

    @Test
    void attemptGoesToBothNodesAndTokensArriveInOrderEvenWhenTheSecondOvertakesTheFirst() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(3);
        final long attempt = placeOn(1);
        final RecordingNodeCommands.Sent admit = node(101).last("admit");
        assertEquals(attempt, admit.attemptId());
        assertEquals(1, admit.peerNodeId());
        assertEquals(5, admit.promptTokens());
        assertEquals(3, admit.maxNewTokens());
        final RecordingNodeCommands.Sent prefill = node(1).last("prefill");
        assertArrayEquals(PROMPT, prefill.prompt());
        assertEquals(101, prefill.peerNodeId());
        assertEquals(0, prefill.sampledBefore());
        assertNotEquals(0L, admit.attemptToken(), "an attempt token is never 0 (no token)");
        assertEquals(admit.attemptToken(), prefill.attemptToken(), "both nodes get the attempt's one token");
        assertEquals(5, registry.node(1).pendingPromptTokens);
        assertEquals(2, registry.node(101).committedPages, "5 + 3 tokens in pages of 4");

        scheduler.onNodeToken(attempt, 1, 21, 0); // the decode node's token overtook the prefill node's first
        assertTrue(client.tokens.isEmpty(), "token 1 waits for token 0");
        ok(attempt, 20);
        assertEquals(0, registry.node(1).pendingPromptTokens);
        scheduler.onNodeToken(attempt, 1, 21, 0); // a duplicate
        scheduler.onNodeToken(attempt, 2, 22, 0);
        assertEquals(List.of(20, 21, 22), client.tokenIds());
        assertEquals(FinishReason.LENGTH, client.tokens.get(2).finish());
        assertEquals(0, registry.node(101).committedPages, "the ended request's pages are free");
        assertEquals(attempt, node(101).last("cancel").attemptId(), "the decode node is told to free the sequence");
        assertEquals(0, scheduler.active());
    }

    @Test
    void deadDecodeNodesAttemptIsPrefilledAgainAsPromptPlusDeliveredTokensAndContinuesWithoutGap() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        hello(102, NodeRole.DECODE, 80);
        final RecordingListener client = submit(10);
        final long first = placeOn(1);
        assertEquals(first, node(101).last("admit").attemptId(), "most free pages");
        ok(first, 20);
        scheduler.onNodeToken(first, 1, 21, 0);
        scheduler.onNodeToken(first, 2, 22, 0);

        clock.update(HEARTBEAT_TIMEOUT_NS + 1); // node 101 falls silent; the others keep heartbeating
        registry.onHeartbeat(1, 0, clock.nanoTime());
        registry.onHeartbeat(102, 80, clock.nanoTime());
        assertEquals(1, registry.checkHeartbeats(clock.nanoTime()));
        assertEquals(1, scheduler.queued());
        assertEquals(1, retries(RetryReason.DECODE_NODE_FAILED));
        assertFalse(node(101).kinds().contains("cancel " + first), "a dead node is told nothing");
        assertEquals(0, registry.node(101).committedPages);

        final long second = placeOn(1);
        final RecordingNodeCommands.Sent prefill = node(1).last("prefill");
        assertArrayEquals(new int[] {11, 12, 13, 14, 15, 20, 21, 22}, prefill.prompt());
        assertEquals(3, prefill.sampledBefore());
        assertEquals(7, prefill.maxNewTokens());
        assertEquals(102, prefill.peerNodeId());
        assertEquals(second, node(102).last("admit").attemptId());
        assertEquals(4, registry.node(102).committedPages, "8 + 7 tokens in pages of 4");

        scheduler.onNodeToken(first, 3, 99, 0); // late from the dead attempt
        ok(second, 23); // the new attempt's token 0 is the request's token 3
        scheduler.onNodeToken(second, 1, 24, 0);
        assertEquals(List.of(20, 21, 22, 23, 24), client.tokenIds());
        assertNull(client.errorCode);
        assertEquals(2, metrics.kvTransfersOk);
    }

    @Test
    void lastDecodeNodeDyingFailsItsRequestsWithNodeFailed() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        final long attempt = placeOn(1);
        ok(attempt, 20);
        assertEquals(1, registry.onEventsImageClosed(601));
        assertEquals(ErrorCode.NODE_FAILED, client.errorCode);
        assertEquals("decode node 101 stopped responding and no other decode node is available", client.errorMessage);
        assertEquals(0, scheduler.active());
        assertEquals(0, scheduler.queued());
        assertEquals(0, retries(RetryReason.DECODE_NODE_FAILED));
    }

    @Test
    void deadPrefillNodesUnfinishedPrefillsArePlacedAgainAndFinishedOnesStay() {
        hello(1, NodeRole.PREFILL, 0);
        hello(2, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener a = submit(10);
        final RecordingListener b = submit(10);
        assertEquals(2, scheduler.dispatch());
        final long attemptA = node(1).sent.isEmpty() ? -1 : node(1).last("prefill").attemptId();
        final long attemptB = node(2).last("prefill").attemptId();
        assertTrue(attemptA > 0, "join-shortest-queue put one request on each prefill node");
        final RecordingListener onNode1 = attemptA < attemptB ? a : b;
        ok(attemptB, 30); // node 2 finished its prefill; node 1 has not

        registry.onEventsImageClosed(501); // node 1
        registry.onEventsImageClosed(502); // node 2, after its prefill ended: its request decodes on undisturbed
        assertEquals(1, retries(RetryReason.PREFILL_NODE_FAILED));
        assertEquals(attemptA, node(101).last("cancel").attemptId(), "the decode node drops what it admitted");
        assertEquals(1, scheduler.queued());
        assertEquals(0, scheduler.dispatch(), "no prefill node is left to take it");

        hello(2, NodeRole.PREFILL, 0); // node 2 restarts
        final long again = placeOn(2);
        assertEquals(0, node(2).last("prefill").sampledBefore());
        ok(again, 40);
        assertEquals(List.of(40), onNode1.tokenIds());
        assertEquals(1, (onNode1 == a ? b : a).tokenIds().size());
    }

    @Test
    void preemptedRequestIsRequeuedWithoutCountingAndWaitsForTheNodesNextHeartbeat() {
        scheduler = scheduler(1);
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        long attempt = placeOn(1);
        ok(attempt, 20);
        scheduler.onNodeToken(attempt, 1, 21, 0);
        for (int preemption = 1; preemption <= 3; preemption++) {
            scheduler.onDecodeDone(attempt, FinishReason.PREEMPTED);
            assertEquals(preemption, retries(RetryReason.PREEMPTED));
            assertEquals(preemption, metrics.preemptions);
            assertFalse(node(101).kinds().contains("cancel " + attempt), "the node freed it itself");
            assertEquals(0, scheduler.dispatch(), "the node said it is full");
            registry.onHeartbeat(101, 50, clock.nanoTime());
            attempt = placeOn(1);
            assertEquals(2, node(1).last("prefill").sampledBefore());
        }
        ok(attempt, 22);
        assertEquals(List.of(20, 21, 22), client.tokenIds());
        assertNull(client.errorCode, "preemption never exhausts even a limit of one attempt");
    }

    @Test
    void failedKvTransferIsRetriedUntilTheAttemptLimit() {
        scheduler = scheduler(2);
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        final long first = placeOn(1);
        scheduler.onPrefillDone(first, -1, KvTransferStatus.FAILED_CHECKSUM.value(), KvPath.HOST, 0);
        assertEquals(first, node(101).last("cancel").attemptId());
        assertEquals(1, retries(RetryReason.KV_TRANSFER_FAILED));
        assertEquals(1, metrics.kvTransfersFailed);
        assertEquals(0, registry.node(1).pendingPromptTokens);
        assertEquals(0, registry.node(101).committedPages);
        final long firstToken = node(1).sent.get(0).attemptToken();
        final long second = placeOn(1);
        assertNull(client.errorCode);
        assertEquals(node(101).last("admit").attemptToken(), node(1).last("prefill").attemptToken());
        assertNotEquals(firstToken, node(1).last("prefill").attemptToken(), "each attempt draws its own token");
        scheduler.onPrefillDone(second, -1, KvTransferStatus.FAILED_TIMEOUT.value(), KvPath.HOST, 0);
        assertEquals(ErrorCode.KV_TRANSFER_FAILED, client.errorCode);
        assertEquals("the KV transfer to decode node 101 failed (FAILED_TIMEOUT) (after 2 attempts)",
                client.errorMessage);
        assertEquals(List.of("router: request 1 failed KV_TRANSFER_FAILED after 2 attempt(s), last on prefill node 1,"
                + " decode node 101: the KV transfer to decode node 101 failed (FAILED_TIMEOUT) (after 2 attempts)"), log,
                "one log line for the failed request");
        assertEquals(1, retries(RetryReason.KV_TRANSFER_FAILED), "the last failure is no retry");
        assertEquals(0, scheduler.active());
        assertEquals(0, scheduler.queued());
    }

    @Test
    void failedPrefillIsRetriedAsThePrefillNodesFaultUntilTheAttemptLimit() {
        scheduler = scheduler(2);
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        final long first = placeOn(1);
        scheduler.onPrefillDone(first, -1, KvTransferStatus.FAILED_PREFILL.value(), KvPath.HOST, 0);
        assertEquals(first, node(101).last("cancel").attemptId());
        assertEquals(1, retries(RetryReason.PREFILL_FAILED));
        assertEquals(0, retries(RetryReason.KV_TRANSFER_FAILED));
        assertEquals(0, retries(RetryReason.NO_MEMORY));
        assertNull(client.errorCode);
        scheduler.onPrefillDone(placeOn(1), -1, KvTransferStatus.FAILED_PREFILL.value(), KvPath.HOST, 0);
        assertEquals(ErrorCode.INTERNAL, client.errorCode);
        assertEquals("the prefill failed on prefill node 1 (after 2 attempts)", client.errorMessage);
        assertEquals(0, scheduler.active());
    }

    @Test
    void decodeNodeThatCannotAdmitTheSequenceCountsAsAFailedTransfer() {
        scheduler = scheduler(1);
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        scheduler.onDecodeDone(placeOn(1), FinishReason.ERROR);
        assertEquals(ErrorCode.KV_TRANSFER_FAILED, client.errorCode);
        assertEquals("decode node 101 could not admit the sequence (after 1 attempts)", client.errorMessage);
    }

    @Test
    void noMemoryOnTheDecodeNodeWaitsForRoomThenIsPlaced() {
        scheduler = scheduler(1);
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        final long first = placeOn(1);
        scheduler.onPrefillDone(first, -1, KvTransferStatus.REJECTED_NO_MEMORY.value(), KvPath.HOST, 0);
        assertEquals(1, retries(RetryReason.NO_MEMORY));
        assertEquals(first, node(101).last("cancel").attemptId());
        assertEquals(0, scheduler.dispatch());
        registry.onHeartbeat(101, 1, clock.nanoTime()); // one page free: not room for 5 prompt tokens + 1
        assertEquals(0, scheduler.dispatch());
        registry.onHeartbeat(101, 60, clock.nanoTime());
        final long second = placeOn(1);
        ok(second, 20);
        assertEquals(List.of(20), client.tokenIds());
        assertNull(client.errorCode, "waiting for room did not use up the single attempt");
    }

    @Test
    void unknownPrefillStatusEndsTheRequestWithAnInternalError() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        final long attempt = placeOn(1);
        scheduler.onPrefillDone(attempt, -1, (short) 99, KvPath.HOST, 0);
        assertEquals(ErrorCode.INTERNAL, client.errorCode);
        assertEquals("prefill node 1 reported status 99, which this router does not know, for the request's prefill;"
                + " the request was not completed", client.errorMessage);
        assertEquals(attempt, node(101).last("cancel").attemptId());
        assertEquals(0, retries(RetryReason.NO_MEMORY));
        assertEquals(0, scheduler.queued());
    }

    @Test
    void unknownDecodeFinishReasonEndsTheRequestWithAnInternalError() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        scheduler.onDecodeDone(placeOn(1), FinishReason.NULL_VAL);
        assertEquals(ErrorCode.INTERNAL, client.errorCode);
    }

    @Test
    void requestNoNodeTakesTimesOutInTheQueue() {
        hello(1, NodeRole.PREFILL, 0); // no decode node
        final RecordingListener client = submit(10);
        assertEquals(0, scheduler.dispatch());
        clock.advance(QUEUE_TIMEOUT_NS);
        assertEquals(0, scheduler.expireQueued(), "exactly the timeout is not past it");
        clock.advance(1);
        assertEquals(1, scheduler.expireQueued());
        assertEquals(ErrorCode.TIMEOUT, client.errorCode);
        assertEquals(1, log.size());
        assertTrue(log.get(0).startsWith("router: request 1 failed TIMEOUT after 0 attempt(s), never placed: "),
                log.get(0));
        assertEquals("no node could take the request within 0 ms (1 prefill-capable and 0 decode-capable nodes alive)",
                client.errorMessage);
        assertEquals(0, scheduler.queued());
        assertEquals(0, scheduler.active());
    }

    @Test
    void repeatedPromptFollowsItsPrefixAndTheMetricsSaySoAndADeadNodesPrefixesAreForgotten() {
        final PrefixAwarePlacement placement = new PrefixAwarePlacement(1.0, 0.25, 4.0, 1_000);
        scheduler = new RequestScheduler(new RouterContext().nanoClock(clock).epochNanoClock(() -> 0L), registry,
                placement, metrics, null, model.tokenizer(), 0);
        registry.deathListener(scheduler::onNodeDied);
        hello(1, NodeRole.PREFILL, 100);
        hello(2, NodeRole.PREFILL, 100);
        hello(101, NodeRole.DECODE, 100);
        hello(102, NodeRole.DECODE, 100);
        submit(3);
        assertEquals(1, scheduler.dispatch());
        final int prefill = node(1).sent.isEmpty() ? 2 : 1;
        final int decode = node(101).sent.isEmpty() ? 102 : 101;
        submit(3); // the same 5-token prompt: its first page is cached where the first went, which is busier now
        assertEquals(1, scheduler.dispatch());
        assertEquals(2, node(prefill).sent.size(), "prefill node " + prefill + " got both");
        assertEquals(2, node(decode).sent.size(), "decode node " + decode + " got both admits");
        assertEquals(1, metrics.placementsByLoad);
        assertEquals(1, metrics.placementsByPrefix);
        assertEquals(4, metrics.placementPrefixTokens, "one whole page of 4 tokens");
        final String text = metrics.render(0, 2, registry.nodes());
        assertTrue(text.contains("splitserve_placements_total{policy=\"prefix\"} 1\n"), text);
        assertTrue(text.contains("splitserve_placements_total{policy=\"load\"} 1\n"), text);
        assertTrue(text.contains("\nsplitserve_placement_prefix_tokens_total 4\n"), text);

        assertEquals(4, placement.indexedTokens(registry.node(prefill)));
        clock.advance(HEARTBEAT_TIMEOUT_NS + 1);
        for (int other : new int[] {3 - prefill, 101, 102}) {
            registry.onHeartbeat(other, 100, clock.nanoTime());
        }
        assertEquals(1, registry.checkHeartbeats(clock.nanoTime()));
        assertEquals(0, placement.indexedTokens(registry.node(prefill)), "the dead node's cache is gone");
    }

    /**
     * With KV-aware placement the prefill node is told how much of the prompt its decode node likely holds cached: nothing
     * for a first turn; for the next turn of a conversation (the first turn's prompt and output resent with a new
     * message) the whole pages of what the decode node computed, prompt and output, short of the last prompt token.
     */
    @Test
    void theNextTurnOfAConversationTellsThePrefillNodeWhatItsDecodeNodeHolds() {
        scheduler = new RequestScheduler(new RouterContext().nanoClock(clock).epochNanoClock(() -> 0L), registry,
                new PrefixAwarePlacement(1.0, 1.0, 4.0, 1_000), metrics, null, model.tokenizer(), 0);
        hello(1, NodeRole.PREFILL, 100);
        hello(101, NodeRole.DECODE, 100);
        final int[] turnOne = {11, 12, 13, 14, 15, 16};
        scheduler.accept(0, 0, new ValidatedRequest(turnOne, 4, 0f, 1f, 0, 0, List.of(), new int[0]),
                new RecordingListener());
        final long first = placeOn(1);
        assertEquals(0, node(1).last("prefill").decodeCachedTokens(), "nothing cached yet");
        scheduler.onFirstToken(first, 21, 0);
        ok(first, 21);
        for (int i = 1; i < 4; i++) {
            scheduler.onNodeToken(first, i, 21 + i, 0);
        }
        scheduler.onDecodeDone(first, FinishReason.LENGTH);
        assertEquals(0, scheduler.active());

        // the decode node computed 6 prompt + 3 output tokens: 2 whole pages of 4
        final int[] turnTwo = {11, 12, 13, 14, 15, 16, 21, 22, 23, 24, 31, 32, 33};
        scheduler.accept(0, 1, new ValidatedRequest(turnTwo, 4, 0f, 1f, 0, 0, List.of(), new int[0]),
                new RecordingListener());
        placeOn(1);
        assertEquals(8, node(1).last("prefill").decodeCachedTokens());

        // a prompt that is all cached still leaves its last token (and its page) to compute
        scheduler.accept(0, 2, new ValidatedRequest(Arrays.copyOf(turnTwo, 8), 4, 0f, 1f, 0, 0, List.of(), new int[0]),
                new RecordingListener());
        placeOn(1);
        assertEquals(4, node(1).last("prefill").decodeCachedTokens());
    }

    /** A node's heartbeat report of its prefix cache, resends included, is what /metrics says of that node. */
    @Test
    void aNodesPrefixCacheReportReachesMetrics() {
        hello(1, NodeRole.PREFILL, 100);
        registry.onPrefixCacheReport(1, 12, 400, 300, 2, 3);
        final String text = metrics.render(0, 0, registry.nodes());
        assertTrue(text.contains("splitserve_prefix_cache_pages{node=\"1\",role=\"prefill\"} 12\n"), text);
        assertTrue(text.contains("splitserve_prefix_cache_hit_tokens_total{node=\"1\",role=\"prefill\"} 300\n"), text);
        assertTrue(text.contains("splitserve_kv_prefix_resends_total{node=\"1\",role=\"prefill\"} 3\n"), text);
    }

    /** A decode node's heartbeat count of refused KV messages is what /metrics says of that node. */
    @Test
    void aDecodeNodesKvRefusalsReachMetrics() {
        hello(101, NodeRole.DECODE, 100);
        registry.onKvRefusedReport(101, 7);
        final String text = metrics.render(0, 0, registry.nodes());
        assertTrue(text.contains("splitserve_kv_refused_total{node=\"101\",role=\"decode\"} 7\n"), text);
    }

    @Test
    void requestLargerThanAnyDecodeNodeFailsAtOnce() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 3);
        final RecordingListener client = submit(10);
        assertEquals(1, scheduler.dispatch());
        assertEquals(ErrorCode.PROMPT_TOO_LONG, client.errorCode);
        assertEquals("prompt + max_tokens = 15 tokens do not fit the KV cache of any decode node (largest: 3 pages)",
                client.errorMessage);
    }

    @Test
    void queueBoundRefusesTheNextRequest() {
        final RouterContext ctx = new RouterContext().maxQueuedRequests(1).nanoClock(clock).log(log::add);
        scheduler = new RequestScheduler(ctx, registry, new JsqPlacement(1.0), metrics, null, model.tokenizer(), 0);
        submit(10);
        final RecordingListener refused = submit(10);
        assertEquals(ErrorCode.OVERLOADED, refused.errorCode);
        assertEquals(List.of("router: request refused OVERLOADED before acceptance: 1 requests are already waiting"
                + " (--max-queued-requests 1); retry later"), log);
        assertEquals(1, scheduler.queued());
    }

    @Test
    void cancelEndsTheRequestAndFreesItsSequence() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        final long attempt = placeOn(1);
        ok(attempt, 20);
        scheduler.cancel(client);
        assertEquals(FinishReason.CANCELLED, client.tokens.get(1).finish());
        assertEquals(attempt, node(101).last("cancel").attemptId());
        assertEquals(0, registry.node(101).committedPages);
        scheduler.onNodeToken(attempt, 1, 21, 0);
        assertEquals(2, client.tokens.size(), "nothing after the end");
    }

    @Test
    void firstTokenIsDeliveredAtOnceAndTheLaterPrefillDoneDeliversNothingMore() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(3);
        final long attempt = placeOn(1);
        scheduler.onNodeToken(attempt, 1, 21, 0); // the decode node's token overtook the first token
        assertTrue(client.tokens.isEmpty());
        scheduler.onFirstToken(attempt, 20, 0);
        assertEquals(List.of(20, 21), client.tokenIds(), "the first token and the one waiting behind it");
        assertEquals(1, metrics.timeToFirstToken.getTotalCount(), "TTFT is recorded at the first token");
        assertEquals(0, registry.node(1).pendingPromptTokens, "the prefill's compute is over");
        scheduler.onFirstToken(attempt, 20, 0); // a duplicate
        scheduler.onPrefillDone(attempt, 20, KvTransferStatus.OK.value(), KvPath.GPU, 100);
        assertEquals(List.of(20, 21), client.tokenIds(), "no second first token");
        assertEquals(1, kvTransfers(KvPath.GPU, true));
        assertEquals(1, metrics.timeToFirstToken.getTotalCount());
        scheduler.onNodeToken(attempt, 2, 22, 0);
        assertEquals(List.of(20, 21, 22), client.tokenIds());
        assertEquals(FinishReason.LENGTH, client.tokens.get(2).finish());
    }

    @Test
    void prefillDoneOfAPrefillNodeThatSendsNoFirstTokenDeliversTheFirstTokenOnce() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        final long attempt = placeOn(1);
        ok(attempt, 20);
        ok(attempt, 20);
        scheduler.onFirstToken(attempt, 20, 0); // after its PrefillDone: late
        assertEquals(List.of(20), client.tokenIds());
        assertEquals(1, metrics.timeToFirstToken.getTotalCount());
        assertEquals(2, kvTransfers(KvPath.HOST, true));
    }

    @Test
    void transferFailingAfterTheFirstTokenWentOutRePrefillsItAsPartOfThePrompt() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        final long first = placeOn(1);
        scheduler.onFirstToken(first, 20, 0);
        scheduler.onPrefillDone(first, -1, KvTransferStatus.FAILED_TIMEOUT.value(), KvPath.HOST, 0);
        assertEquals(1, retries(RetryReason.KV_TRANSFER_FAILED));
        assertEquals(1, kvTransfers(KvPath.HOST, false));
        assertEquals(first, node(101).last("cancel").attemptId());

        final long second = placeOn(1);
        final RecordingNodeCommands.Sent prefill = node(1).last("prefill");
        assertArrayEquals(new int[] {11, 12, 13, 14, 15, 20}, prefill.prompt());
        assertEquals(1, prefill.sampledBefore());
        assertEquals(9, prefill.maxNewTokens());
        assertEquals(1, node(101).last("admit").sampledBefore());
        scheduler.onFirstToken(first, 99, 0); // the failed attempt's, late: ignored
        scheduler.onFirstToken(second, 21, 0); // the new attempt's token 0 is the request's token 1
        ok(second, 21);
        scheduler.onNodeToken(second, 1, 22, 0);
        assertEquals(List.of(20, 21, 22), client.tokenIds());
        assertEquals(1, metrics.timeToFirstToken.getTotalCount(), "the retry's first token is not the request's");
        assertNull(client.errorCode);
    }

    @Test
    void decodeNodeDyingAfterTheFirstTokenWentOutContinuesOnAnotherWithoutGapOrDuplicate() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        hello(102, NodeRole.DECODE, 80);
        final RecordingListener client = submit(10);
        final long first = placeOn(1);
        assertEquals(first, node(101).last("admit").attemptId());
        scheduler.onFirstToken(first, 20, 0);
        assertEquals(1, registry.onEventsImageClosed(601)); // decode node 101, its KV still arriving
        assertEquals(1, retries(RetryReason.DECODE_NODE_FAILED));

        final long second = placeOn(1);
        final RecordingNodeCommands.Sent prefill = node(1).last("prefill");
        assertEquals(102, prefill.peerNodeId());
        assertArrayEquals(new int[] {11, 12, 13, 14, 15, 20}, prefill.prompt());
        assertEquals(1, prefill.sampledBefore());
        scheduler.onPrefillDone(first, 20, KvTransferStatus.OK.value(), KvPath.HOST, 100); // the dead attempt's
        scheduler.onNodeToken(second, 1, 22, 0); // overtakes the new attempt's first token
        scheduler.onFirstToken(second, 21, 0);
        assertEquals(List.of(20, 21, 22), client.tokenIds());
        assertEquals(0, kvTransfers(KvPath.HOST, true), "an ended attempt's PrefillDone is not counted");
    }

    @Test
    void prefillNodeDyingAfterTheFirstTokenButBeforeItsPrefillDoneRetriesWithTheTokenCounted() {
        hello(1, NodeRole.PREFILL, 0);
        hello(2, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        assertEquals(1, scheduler.dispatch());
        final int used = node(1).sent.isEmpty() ? 2 : 1; // the queues tie
        final int other = 3 - used;
        final long first = node(used).last("prefill").attemptId();
        scheduler.onFirstToken(first, 20, 0);
        assertEquals(1, registry.onEventsImageClosed(500 + used)); // it dies while its KV transfer may be unfinished
        assertEquals(1, retries(RetryReason.PREFILL_NODE_FAILED));
        assertEquals(first, node(101).last("cancel").attemptId(), "the decode node drops the partial KV");
        placeOn(other);
        assertArrayEquals(new int[] {11, 12, 13, 14, 15, 20}, node(other).last("prefill").prompt());
        assertEquals(1, node(other).last("prefill").sampledBefore());
        assertEquals(List.of(20), client.tokenIds());
    }

    @Test
    void firstTokenOfAnUnknownOrEndedAttemptIsIgnored() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        final long attempt = placeOn(1);
        scheduler.onFirstToken(attempt + 1000, 20, 0);
        assertTrue(client.tokens.isEmpty());
        assertEquals(5, registry.node(1).pendingPromptTokens, "an unknown attempt's token ends no prefill");
        scheduler.onPrefillDone(attempt, -1, KvTransferStatus.FAILED_CHECKSUM.value(), KvPath.HOST, 0);
        scheduler.onFirstToken(attempt, 20, 0);
        assertTrue(client.tokens.isEmpty(), "the attempt ended");
        assertEquals(1, scheduler.queued());
    }

    @Test
    void firstTokenAfterCancelSendsNothing() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        final RecordingListener client = submit(10);
        final long attempt = placeOn(1);
        scheduler.cancel(client);
        assertEquals(1, client.tokens.size());
        assertEquals(FinishReason.CANCELLED, client.tokens.get(0).finish());
        scheduler.onFirstToken(attempt, 20, 0);
        scheduler.onPrefillDone(attempt, 20, KvTransferStatus.OK.value(), KvPath.HOST, 100);
        assertEquals(1, client.tokens.size(), "nothing after the end");
    }

    @Test
    void kvTransfersAreRenderedByPathAndOutcome() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        submit(10);
        for (int i = 0; i < 12; i++) { // 12: a check that reads "1" must not pass on "12"
            scheduler.onPrefillDone(placeOn(1), -1, KvTransferStatus.REJECTED_NO_MEMORY.value(), KvPath.GPU, 0);
            registry.onHeartbeat(101, 100, clock.nanoTime());
        }
        scheduler.onPrefillDone(placeOn(1), 20, KvTransferStatus.OK.value(), KvPath.HOST, 100);
        String text = metrics.render(scheduler.queued(), scheduler.active(), registry.nodes());
        assertEquals(12, counter(text, "splitserve_kv_transfers_total{path=\"gpu\",outcome=\"failed\"}"));
        assertEquals(0, counter(text, "splitserve_kv_transfers_total{path=\"gpu\",outcome=\"ok\"}"));
        assertEquals(1, counter(text, "splitserve_kv_transfers_total{path=\"host\",outcome=\"ok\"}"));
        assertEquals(0, counter(text, "splitserve_kv_transfers_total{path=\"host\",outcome=\"failed\"}"));
        assertEquals(1, counter(text, "splitserve_kv_transfers_ok_total"));
        assertEquals(12, counter(text, "splitserve_kv_transfers_failed_total"));
        assertFalse(text.contains("path=\"unknown\""), "no path this router does not know was seen");
        submit(10);
        scheduler.onPrefillDone(placeOn(1), -1, KvTransferStatus.FAILED_CHECKSUM.value(), KvPath.NULL_VAL, 0);
        text = metrics.render(scheduler.queued(), scheduler.active(), registry.nodes());
        assertEquals(1, counter(text, "splitserve_kv_transfers_total{path=\"unknown\",outcome=\"failed\"}"));
    }

    @Test
    void retriesAreRenderedByReason() {
        hello(1, NodeRole.PREFILL, 0);
        hello(101, NodeRole.DECODE, 100);
        hello(102, NodeRole.DECODE, 100);
        submit(10);
        for (int i = 0; i < 12; i++) { // 12 preemptions: a check that reads "1" must not pass on "12"
            scheduler.onDecodeDone(placeOn(1), FinishReason.PREEMPTED);
            registry.onHeartbeat(101, 100, clock.nanoTime());
            registry.onHeartbeat(102, 100, clock.nanoTime());
        }
        final String text = metrics.render(scheduler.queued(), scheduler.active(), registry.nodes());
        assertEquals(12, counter(text, "splitserve_attempt_retries_total{reason=\"preempted\"}"));
        assertEquals(0, counter(text, "splitserve_attempt_retries_total{reason=\"prefill_node_failed\"}"));
        assertEquals(0, counter(text, "splitserve_node_pending_prompt_tokens{node=\"1\",role=\"prefill\"}"));
    }

    private static long counter(String text, String series) {
        final Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\d+)$", Pattern.MULTILINE).matcher(text);
        assertTrue(m.find(), series + " in\n" + text);
        return Long.parseLong(m.group(1));
    }
}
