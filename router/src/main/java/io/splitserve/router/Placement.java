package io.splitserve.router;

/**
 * A {@link PlacementPolicy}'s decision for one request: place it on a prefill node and a decode node (the same node
 * when colocated), or why not: no room now (wait), no live node can decode at all, or the request can never fit
 * any live decode node. Mutable and reused by its policy, so placing allocates nothing; read it before the next call.
 */
final class Placement {
    enum Outcome {
        /** {@link #prefill} and {@link #decode} take the request now. */
        PLACE,
        /** Nodes exist that could take it, but none has room (or is reachable) now. */
        WAIT,
        /** No live node can hold decoding sequences. */
        NO_KV_NODE,
        /** Prompt + max new tokens exceed every live decode node's whole KV cache ({@link #largestKvNodePages}). */
        NEVER_FITS
    }

    Outcome outcome;
    NodeState prefill;
    NodeState decode;
    long largestKvNodePages;

    Placement set(Outcome outcome, NodeState prefill, NodeState decode, long largestKvNodePages) {
        this.outcome = outcome;
        this.prefill = prefill;
        this.decode = decode;
        this.largestKvNodePages = largestKvNodePages;
        return this;
    }
}
