package io.splitserve.router;

import java.util.Collection;

/**
 * The router's placement: a decode node with the most unpromised KV pages among the usable decode nodes that can
 * hold prompt + max new tokens (within {@code totalPages * overcommit}) and whose last heartbeat reported room for
 * the prompt now; then the usable prefill node with the fewest pending prompt tokens (join-shortest-queue). Without
 * such a pair, one colocated node chosen like a decode node. Ties go to the node met first.
 */
final class JsqPlacement implements PlacementPolicy {
    private final double kvOvercommit;
    private final Placement decision = new Placement();

    JsqPlacement(double kvOvercommit) {
        if (!(kvOvercommit >= 1)) {
            throw new IllegalArgumentException("KV overcommit must be at least 1, got " + kvOvercommit);
        }
        this.kvOvercommit = kvOvercommit;
    }

    @Override
    public Placement place(Collection<NodeState> nodes, int promptTokens, int totalTokens) {
        final NodeState decode = mostRoom(nodes, false, promptTokens, totalTokens);
        final NodeState prefill = decode == null ? null : shortestQueue(nodes);
        if (prefill != null) {
            return decision.set(Placement.Outcome.PLACE, prefill, decode, 0);
        }
        final NodeState colocated = mostRoom(nodes, true, promptTokens, totalTokens);
        if (colocated != null) {
            return decision.set(Placement.Outcome.PLACE, colocated, colocated, 0);
        }
        long largest = -1;
        boolean fits = false;
        for (NodeState node : nodes) {
            if (node.alive && node.holdsKv()) {
                largest = Math.max(largest, node.totalPages);
                fits |= node.pagesFor(totalTokens) <= node.totalPages;
            }
        }
        final Placement.Outcome outcome = largest < 0 ? Placement.Outcome.NO_KV_NODE
                : fits ? Placement.Outcome.WAIT : Placement.Outcome.NEVER_FITS;
        return decision.set(outcome, null, null, largest);
    }

    private NodeState mostRoom(Collection<NodeState> nodes, boolean colocated, int promptTokens, int totalTokens) {
        NodeState best = null;
        for (NodeState node : nodes) {
            if ((colocated ? node.colocated() : node.decodes()) && node.usable()
                    && node.pagesFor(totalTokens) <= node.availablePages(kvOvercommit)
                    && node.pagesFor(promptTokens + 1) <= node.reportedFreePages
                    && (best == null || node.availablePages(kvOvercommit) > best.availablePages(kvOvercommit))) {
                best = node;
            }
        }
        return best;
    }

    private static NodeState shortestQueue(Collection<NodeState> nodes) {
        NodeState best = null;
        for (NodeState node : nodes) {
            if (node.prefills() && node.usable()
                    && (best == null || node.pendingPromptTokens < best.pendingPromptTokens)) {
                best = node;
            }
        }
        return best;
    }
}
