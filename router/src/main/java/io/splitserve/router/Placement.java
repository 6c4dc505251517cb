package io.splitserve.router;

import java.util.Collection;

/**
 * A {@link PlacementPolicy}'s decision for one request: place it on a prefill node and a decode node (the same node
 * when colocated), or why not: no room now (wait), no live node can decode at all, or the request can never fit
 * any live decode node. A placement also says whether a cached prompt prefix decided it ({@link #byPrefix}) and how
 * many of the prompt's leading tokens each chosen node likely holds already. Mutable and reused by its policy, so
 * placing allocates nothing; read it before the next call.
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
    /** Whether a node was chosen for the prefix it holds rather than for its load alone. */
    boolean byPrefix;
    /** Leading prompt tokens the chosen prefill node (or colocated node) likely holds in its cache. */
    int prefillPrefixTokens;
    /** Leading prompt tokens the chosen decode node (or colocated node) likely holds in its cache. */
    int decodePrefixTokens;

    /** A placement chosen by load alone, or a reason not to place. */
    Placement set(Outcome outcome, NodeState prefill, NodeState decode, long largestKvNodePages) {
        this.outcome = outcome;
        this.prefill = prefill;
        this.decode = decode;
        this.largestKvNodePages = largestKvNodePages;
        this.byPrefix = false;
        this.prefillPrefixTokens = 0;
        this.decodePrefixTokens = 0;
        return this;
    }

    /** Says what the chosen nodes hold of the prompt, after {@link #set}. */
    Placement prefix(boolean byPrefix, int prefillPrefixTokens, int decodePrefixTokens) {
        this.byPrefix = byPrefix;
        this.prefillPrefixTokens = prefillPrefixTokens;
        this.decodePrefixTokens = decodePrefixTokens;
        return this;
    }

    /**
     * Why no node takes a request of {@code totalTokens} (prompt + max new tokens): no live KV node, none large enough
     * ever, or none with room now.
     */
    Placement unplaced(Collection<NodeState> nodes, int totalTokens) {
        long largest = -1;
        boolean fits = false;
        for (NodeState node : nodes) {
            if (node.alive && node.holdsKv()) {
                largest = Math.max(largest, node.totalPages);
                fits |= node.pagesFor(totalTokens) <= node.totalPages;
            }
        }
        final Outcome why = largest < 0 ? Outcome.NO_KV_NODE : fits ? Outcome.WAIT : Outcome.NEVER_FITS;
        return set(why, null, null, largest);
    }
}
