package io.splitserve.prefill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.kv.OutOfPagesException;
import io.splitserve.model.SamplingParams;
import io.splitserve.sbe.KvTransferStatus;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The prefill batching rule stepped one call at a time with no model and no Aeron: the test says which decode nodes
 * are connected and how many pages are free, and each case states which requests form the batch, which wait and
 * which expire; and the status a failed prefill is reported with.
 */
class PrefillBatcherTest {
    private static final long TIMEOUT_NS = 1_000;
    private final List<PendingPrefill> batch = new ArrayList<>();
    private final List<PendingPrefill> expired = new ArrayList<>();
    private final Set<Long> unconnected = new HashSet<>();
    private final Predicate<PendingPrefill> connected = p -> !unconnected.contains(p.requestId);

    private static PendingPrefill request(long id, int tokens, long arrivedNs) {
        return new PendingPrefill(id, new int[tokens], SamplingParams.greedy(), 0, null, new byte[0], arrivedNs);
    }

    private static List<Long> ids(List<PendingPrefill> prefills) {
        final List<Long> ids = new ArrayList<>();
        for (PendingPrefill p : prefills) {
            ids.add(p.requestId);
        }
        return ids;
    }

    /** A batch keeps to one KV path: a prompt bound the other way waits for the next batch, which it heads. */
    @Test
    void aBatchTakesOnlyPromptsOfItsFirstPromptsKvPath() {
        final PrefillBatcher batcher = new PrefillBatcher(1000, 16, TIMEOUT_NS);
        final PendingPrefill gpuA = request(1, 10, 0);
        final PendingPrefill hostB = request(2, 10, 0);
        final PendingPrefill gpuC = request(3, 10, 0);
        gpuA.kvPath = io.splitserve.sbe.KvPath.GPU;
        hostB.kvPath = io.splitserve.sbe.KvPath.HOST;
        gpuC.kvPath = io.splitserve.sbe.KvPath.GPU;
        batcher.add(gpuA);
        batcher.add(hostB);
        batcher.add(gpuC);
        batcher.nextBatch(0, 100, connected, batch, expired);
        assertEquals(List.of(1L, 3L), ids(batch));
        batcher.nextBatch(0, 100, connected, batch, expired);
        assertEquals(List.of(2L), ids(batch));
        assertTrue(batcher.isEmpty());
    }

    @Test
    void promptsJoinInArrivalOrderUntilTheTokenBudgetIsFull() {
        final PrefillBatcher batcher = new PrefillBatcher(10, 4, TIMEOUT_NS);
        batcher.add(request(1, 4, 0));
        batcher.add(request(2, 6, 0));
        batcher.add(request(3, 1, 0));
        assertEquals(11, batcher.queuedTokens());

        // 1 (4) and 2 (6) fill the budget of 10; 3 would exceed it, and nothing behind the first misfit jumps ahead
        batcher.nextBatch(0, 100, connected, batch, expired);
        assertEquals(List.of(1L, 2L), ids(batch));
        assertEquals(1, batcher.queued());
        assertEquals(1, batcher.queuedTokens());

        // the next batch is 3 alone
        batcher.nextBatch(0, 100, connected, batch, expired);
        assertEquals(List.of(3L), ids(batch));
        assertTrue(batcher.isEmpty());
        assertEquals(0, batcher.queuedTokens());
    }

    @Test
    void aPromptOverTheBudgetRunsAloneRatherThanStarve() {
        final PrefillBatcher batcher = new PrefillBatcher(10, 4, TIMEOUT_NS);
        batcher.add(request(1, 25, 0));
        batcher.add(request(2, 2, 0));
        batcher.nextBatch(0, 100, connected, batch, expired);
        assertEquals(List.of(1L), ids(batch), "25 tokens exceed the budget but lead the queue: they run alone");
        batcher.nextBatch(0, 100, connected, batch, expired);
        assertEquals(List.of(2L), ids(batch));
    }

    @Test
    void freePagesBoundTheBatchButNeverTheFirstPrompt() {
        final PrefillBatcher batcher = new PrefillBatcher(100, 4, TIMEOUT_NS);
        batcher.add(request(1, 9, 0)); // 3 pages
        batcher.add(request(2, 4, 0)); // 1 page
        batcher.add(request(3, 5, 0)); // 2 pages
        // 4 pages free: 1 and 2 take them all, 3 waits although the token budget has room
        batcher.nextBatch(0, 4, connected, batch, expired);
        assertEquals(List.of(1L, 2L), ids(batch));
        // 1 page free: 3 still leads, so it is taken (the engine refuses at intake a prompt that can never fit)
        batcher.nextBatch(0, 1, connected, batch, expired);
        assertEquals(List.of(3L), ids(batch));
    }

    @Test
    void anUnconnectedDecodeNodeHoldsBackOnlyItsOwnRequestsUntilTheyExpire() {
        final PrefillBatcher batcher = new PrefillBatcher(100, 4, TIMEOUT_NS);
        batcher.add(request(1, 3, 0));
        batcher.add(request(2, 3, 500));
        batcher.add(request(3, 3, 0));
        unconnected.add(1L);
        unconnected.add(2L);

        // 1 and 2 wait for their decode node; 3, behind them, is prefilled now
        batcher.nextBatch(TIMEOUT_NS, 100, connected, batch, expired);
        assertEquals(List.of(3L), ids(batch));
        assertTrue(expired.isEmpty(), "1 waited exactly the timeout, not past it");
        assertEquals(6, batcher.queuedTokens());

        // past 1's timeout, not yet 2's: 1 expires and leaves the queue, 2 still waits
        batcher.nextBatch(TIMEOUT_NS + 1, 100, connected, batch, expired);
        assertTrue(batch.isEmpty());
        assertEquals(List.of(1L), ids(expired));
        assertEquals(1, batcher.queued());
        assertEquals(3, batcher.queuedTokens());

        // 2's decode node connects: 2 is prefilled and the expired list is fresh
        unconnected.remove(2L);
        batcher.nextBatch(TIMEOUT_NS + 1, 100, connected, batch, expired);
        assertEquals(List.of(2L), ids(batch));
        assertTrue(expired.isEmpty());
    }

    @Test
    void aFailedPrefillIsReportedAsALackOfMemoryOnlyWhenPagesLacked() {
        assertEquals(KvTransferStatus.REJECTED_NO_MEMORY, PrefillFailure.statusOf(new OutOfPagesException(3, 1, 8)));
        assertEquals(KvTransferStatus.FAILED_PREFILL, PrefillFailure.statusOf(
                new IllegalStateException("CUDA_ERROR_ILLEGAL_ADDRESS")), "a device error is the node's own failure");
        assertEquals(KvTransferStatus.FAILED_PREFILL, PrefillFailure.statusOf(
                new IllegalArgumentException("rows of logits exceed one array")));
        assertThrows(IllegalArgumentException.class, () -> PrefillFailure.statusOf(null));
    }

    @Test
    void badConfigurationIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new PrefillBatcher(0, 4, TIMEOUT_NS));
        assertThrows(IllegalArgumentException.class, () -> new PrefillBatcher(10, 0, TIMEOUT_NS));
        assertThrows(IllegalArgumentException.class, () -> new PrefillBatcher(10, 4, 0));
    }
}
