package io.splitserve.router;

import java.util.Collection;

/**
 * The router's placement: a decode node with the most unpromised KV pages among the usable decode nodes that can
 * hold prompt + max new tokens (within {@code totalPages * overcommit}) and whose last heartbeat reported room for
 * the prompt now; then the usable prefill node with the fewest pending prompt tokens (join-shortest-queue). Without
 * such a pair, one colocated node chosen like a decode node. Ties go to the node met first. It remembers nothing of
 * earlier placements: the policy when nodes cache no prompt prefixes, and the load rule {@link PrefixAwarePlacement}
 * falls back to.
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
    public Placement place(Collection<NodeState> nodes, int[] prompt, int totalTokens) {
        final int promptTokens = prompt.length;
        final NodeState decode = mostRoom(nodes, false, promptTokens, totalTokens);
        final NodeState prefill = decode == null ? null : shortestQueue(nodes);
        if (prefill != null) {
            return decision.set(Placement.Outcome.PLACE, prefill, decode, 0);
        }
        final NodeState colocated = mostRoom(nodes, true, promptTokens, totalTokens);
        if (colocated != null) {
            return decision.set(Placement.Outcome.PLACE, colocated, colocated, 0);
        }
        return decision.unplaced(nodes, totalTokens);
    }

    @Override
    public void onPlaced(NodeState prefill, NodeState decode, int[] prompt) {
        // remembers nothing
    }

    @Override
    public void onNodeDied(NodeState node) {
        // remembers nothing
    }

    /** The usable decode (or colocated) node with the most unpromised pages that has room for the request now. */
    NodeState mostRoom(Collection<NodeState> nodes, boolean colocated, int promptTokens, int totalTokens) {
        NodeState best = null;
        for (NodeState node : nodes) {
            if ((colocated ? node.colocated() : node.decodes()) && node.usable()
                    && node.hasRoomFor(promptTokens, totalTokens, kvOvercommit)
                    && (best == null || node.availablePages(kvOvercommit) > best.availablePages(kvOvercommit))) {
                best = node;
            }
        }
        return best;
    }

    /** The usable prefill node with the fewest pending prompt tokens. */
    static NodeState shortestQueue(Collection<NodeState> nodes) {
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
