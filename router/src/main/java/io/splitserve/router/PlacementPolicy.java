package io.splitserve.router;

import java.util.Collection;

/**
 * Where a request's next attempt goes: a pure function of the node table and the request's size, with no agent
 * and no transport, so each choice can be checked alone. The caller acts on the decision (sends the commands,
 * counts what the attempt holds); the policy changes nothing.
 */
interface PlacementPolicy {
    /**
     * @param nodes        the node table, live and dead
     * @param promptTokens the attempt's prompt: the request's prompt plus tokens delivered so far
     * @param totalTokens  prompt tokens + the new tokens still allowed: what the decode node must be able to hold
     */
    Placement place(Collection<NodeState> nodes, int promptTokens, int totalTokens);
}
