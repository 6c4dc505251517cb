package io.splitserve.router;

/**
 * A request's placements on nodes, one at a time: the current attempt's id (also its KV transfer id and its decode
 * sequence id; 0 between attempts), the nodes it holds, what it holds there (prompt tokens pending on the prefill
 * node until its prefill ends, KV pages promised on the decode node until the attempt ends), and its base: the
 * number of tokens delivered before it began, which maps its attempt-local token indices onto the request's.
 *
 * <p>A disaggregated attempt's prefill ends in two steps: its first token (the prefill's compute is done, so its
 * prompt tokens stop counting against the prefill node) and its PrefillDone (the KV transfer's outcome; until then
 * the attempt still depends on the prefill node, whose death mid-transfer ends the attempt).
 *
 * <p>It also counts attempts against a limit. An attempt that ended for a reason that is not the request's fault
 * (preemption, a decode node with no memory) is given back, so waiting for room never exhausts the limit.
 * Guarantees: what {@link #begin} adds to its nodes, {@link #endPrefill} and {@link #end} take away exactly once.
 * Router-thread only.
 */
final class Attempt {
    private final int limit;
    private int count;
    private long id;
    private int base;
    private NodeState prefillNode;
    private NodeState decodeNode;
    private long committedPages;
    private int pendingPromptTokens;
    private boolean prefilling;
    private boolean prefillDonePending;

    Attempt(int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("attempt limit must be positive, got " + limit);
        }
        this.limit = limit;
    }

    /**
     * Starts attempt {@code id}: {@code promptTokens} wait for {@code prefill}, {@code decode} promises pages for
     * {@code totalTokens}, and the attempt's token 0 is the request's token {@code base}.
     */
    void begin(long id, NodeState prefill, NodeState decode, int promptTokens, int totalTokens, int base) {
        if (this.id != 0) {
            throw new IllegalStateException("attempt " + this.id + " has not ended; cannot begin " + id);
        }
        if (id == 0) {
            throw new IllegalArgumentException("attempt id 0 means no attempt");
        }
        this.id = id;
        this.base = base;
        this.prefillNode = prefill;
        this.decodeNode = decode;
        this.committedPages = decode.pagesFor(totalTokens);
        decode.committedPages += committedPages;
        this.pendingPromptTokens = promptTokens;
        prefill.pendingPromptTokens += promptTokens;
        this.prefilling = true;
        this.prefillDonePending = true;
        count++;
    }

    /**
     * The prefill node sampled the first token while the KV may still stream: its prompt tokens no longer wait on the
     * prefill node, but the attempt depends on that node until {@link #endPrefill}. Idempotent.
     */
    void firstTokenSampled() {
        if (pendingPromptTokens > 0) {
            prefillNode.pendingPromptTokens -= pendingPromptTokens;
            pendingPromptTokens = 0;
        }
        prefilling = false;
    }

    /** The prefill and its KV transfer ended (PrefillDone, or a colocated node's first token). Idempotent. */
    void endPrefill() {
        firstTokenSampled();
        prefillDonePending = false;
    }

    /**
     * Ends the current attempt, releasing what it held on its nodes. {@code countsAgainstLimit} false gives the
     * attempt back (the request was not at fault). Idempotent between attempts.
     */
    void end(boolean countsAgainstLimit) {
        if (id == 0) {
            return;
        }
        endPrefill();
        decodeNode.committedPages -= committedPages;
        committedPages = 0;
        id = 0;
        if (!countsAgainstLimit) {
            count--;
        }
    }

    /** Whether no further attempt may begin. */
    boolean exhausted() {
        return count >= limit;
    }

    /** The request's index of this attempt's token {@code localIndex}. */
    int requestIndex(int localIndex) {
        return base + localIndex;
    }

    boolean running() {
        return id != 0;
    }

    /** True from {@link #begin} until the prefill's first token or its PrefillDone, whichever comes first. */
    boolean prefilling() {
        return id != 0 && prefilling;
    }

    /**
     * Whether this attempt depends on {@code node}: it decodes there, or still waits there for its prefill or for the
     * PrefillDone that ends its KV transfer.
     */
    boolean dependsOn(NodeState node) {
        return id != 0 && (decodeNode == node || (prefillDonePending && prefillNode == node));
    }

    boolean colocated() {
        return prefillNode == decodeNode;
    }

    long id() {
        return id;
    }

    int base() {
        return base;
    }

    int count() {
        return count;
    }

    int limit() {
        return limit;
    }

    long committedPages() {
        return committedPages;
    }

    int pendingPromptTokens() {
        return pendingPromptTokens;
    }

    /** The prefill node of the current or last attempt. */
    NodeState prefillNode() {
        return prefillNode;
    }

    /** The decode node of the current or last attempt. */
    NodeState decodeNode() {
        return decodeNode;
    }
}
