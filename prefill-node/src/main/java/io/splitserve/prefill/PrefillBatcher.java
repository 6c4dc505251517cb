package io.splitserve.prefill;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.function.Predicate;

/**
 * The prefill node's queue and its batching rule: which queued prompts form the next prefill batch. Prompts are taken
 * first come first served while their tokens fit the token budget and their pages fit the free pages; the first prompt
 * of a batch is taken whatever its size, so none waits forever (the engine refuses, at intake, one that can never
 * fit). A prompt whose decode node is not connected yet is passed over without holding back those behind it, and
 * once it has waited longer than the connect timeout it leaves the queue as expired. A batch's prompts all take the
 * KV path of its first (a batch is exported one way), so a prompt bound the other way is passed over the same way and
 * heads a later batch.
 *
 * <p>It decides only: running the batch, streaming KV and reporting belong to {@link PrefillNodeAgent}. Not
 * thread-safe: the agent's thread owns it.
 */
final class PrefillBatcher {
    private final ArrayDeque<PendingPrefill> queue = new ArrayDeque<>();
    private final int tokenBudget;
    private final int pageSize;
    private final long connectTimeoutNs;
    private long queuedTokens;

    PrefillBatcher(int tokenBudget, int pageSize, long connectTimeoutNs) {
        if (tokenBudget <= 0 || pageSize <= 0 || connectTimeoutNs <= 0) {
            throw new IllegalArgumentException("token budget, page size and connect timeout must be positive, got "
                    + tokenBudget + ", " + pageSize + ", " + connectTimeoutNs);
        }
        this.tokenBudget = tokenBudget;
        this.pageSize = pageSize;
        this.connectTimeoutNs = connectTimeoutNs;
    }

    void add(PendingPrefill prefill) {
        queue.add(prefill);
        queuedTokens += prefill.promptTokens.length;
    }

    /** Queues a request again ahead of every other: one whose KV must be sent again in full. */
    void addFirst(PendingPrefill prefill) {
        queue.addFirst(prefill);
        queuedTokens += prefill.promptTokens.length;
    }

    boolean isEmpty() {
        return queue.isEmpty();
    }

    /** Requests waiting for a batch. */
    int queued() {
        return queue.size();
    }

    /** Prompt tokens waiting for a batch. */
    long queuedTokens() {
        return queuedTokens;
    }

    /**
     * Moves the next batch out of the queue into {@code batch} (emptied first), and the requests whose decode node
     * stayed unconnected past the timeout into {@code expired} (emptied first). {@code batch} stays empty when no
     * queued request's decode node is connected.
     *
     * @param nowNs     the time against which each request's arrival is measured
     * @param freePages the engine's free KV pages
     * @param connected whether a request's decode node is connected, so its KV can be sent now
     */
    void nextBatch(long nowNs, int freePages, Predicate<PendingPrefill> connected, List<PendingPrefill> batch,
                   List<PendingPrefill> expired) {
        batch.clear();
        expired.clear();
        int tokens = 0;
        int pages = 0;
        for (Iterator<PendingPrefill> it = queue.iterator(); it.hasNext(); ) {
            final PendingPrefill p = it.next();
            if (!connected.test(p)) {
                if (nowNs - p.arrivedNs > connectTimeoutNs) {
                    it.remove();
                    queuedTokens -= p.promptTokens.length;
                    expired.add(p);
                }
                continue;
            }
            if (!batch.isEmpty() && p.kvPath != batch.get(0).kvPath) {
                continue; // one batch's KV goes one way: it waits for a batch of its own path, holding back no one
            }
            final int length = p.promptTokens.length;
            final int needPages = (length + pageSize - 1) / pageSize;
            if (!batch.isEmpty() && (tokens + length > tokenBudget || pages + needPages > freePages)) {
                break;
            }
            it.remove();
            queuedTokens -= length;
            batch.add(p);
            tokens += length;
            pages += needPages;
        }
    }
}
