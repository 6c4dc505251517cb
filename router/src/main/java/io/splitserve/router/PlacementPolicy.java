package io.splitserve.router;

import java.util.Collection;

/**
 * Where a request's next attempt goes: a pure function of the node table, what the policy remembers of earlier
 * placements, and the request, with no agent and no transport, so each choice can be checked alone. The caller acts
 * on the decision (sends the commands, counts what the attempt holds) and then tells the policy where the attempt
 * went ({@link #onPlaced}); {@link #place} itself changes nothing.
 */
interface PlacementPolicy {
    /**
     * @param nodes       the node table, live and dead
     * @param prompt      the attempt's prompt: the request's prompt followed by the tokens delivered so far
     * @param totalTokens prompt tokens + the new tokens still allowed: what the decode node must be able to hold
     */
    Placement place(Collection<NodeState> nodes, int[] prompt, int totalTokens);

    /** An attempt with this prompt began on these nodes (the same node twice when colocated). */
    void onPlaced(NodeState prefill, NodeState decode, int[] prompt);

    /**
     * A request ended on {@code decode}, which computed the KV of {@code tokens} (its prompt and the tokens generated
     * but the last): a prefix cache there now likely holds them, the start of a conversation's next turn.
     */
    default void onCompleted(NodeState decode, int[] tokens) {
    }

    /** The node died: whatever it held is gone. */
    void onNodeDied(NodeState node);
}
