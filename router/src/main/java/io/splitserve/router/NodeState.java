package io.splitserve.router;

import io.splitserve.sbe.NodeRole;

/**
 * The router's view of one node: what it announced in NodeHello (role, channels, pages, the session of its events
 * stream, its KV endpoint: opaque bytes the router passes on in every PrefillRequest naming this node as the decode
 * node and never reads), what its last heartbeat said, and what the router itself has placed on it since (prompt
 * tokens waiting for its prefill, pages promised to sequences decoding on it). {@link NodeRegistry} keeps it alive or dead;
 * {@link Attempt} adds and removes what it places. Router-thread only.
 */
final class NodeState {
    final int nodeId;
    NodeRole role;
    String controlChannel;
    int controlStreamId;
    String kvChannel;
    int kvStreamId;
    String kvAckChannel;
    int kvAckStreamId;
    byte[] kvEndpoint = new byte[0];
    int eventsSessionId;
    int totalPages;
    int pageSize;
    int reportedFreePages;
    /** The node's prefix cache as its last heartbeat reported it (cumulative counters; 0 from an older node). */
    int cachedPages;
    long prefixLookupTokens;
    long prefixHitTokens;
    long prefixEvictions;
    long prefixResends;
    long kvRefused;
    long lastHeardNs;
    boolean alive;
    long pendingPromptTokens;
    long committedPages;
    NodeCommands commands;

    NodeState(int nodeId) {
        this.nodeId = nodeId;
    }

    boolean prefills() {
        return role == NodeRole.PREFILL;
    }

    boolean decodes() {
        return role == NodeRole.DECODE;
    }

    boolean colocated() {
        return role == NodeRole.PREFILL_AND_DECODE;
    }

    /** Whether sequences can decode here (a decode node or a colocated one). */
    boolean holdsKv() {
        return role == NodeRole.DECODE || role == NodeRole.PREFILL_AND_DECODE;
    }

    /** Alive and reachable: the only nodes a new attempt may use. */
    boolean usable() {
        return alive && commands.isConnected();
    }

    /**
     * Pages not promised to any sequence the router placed here, out of {@code totalPages * overcommit}: above 1 the
     * router counts on requests ending before max_tokens and on preemption when they do not.
     */
    long availablePages(double overcommit) {
        return (long) (totalPages * overcommit) - committedPages;
    }

    /**
     * Whether a new sequence of {@code promptTokens} that may grow to {@code totalTokens} may be placed here: the
     * tokens fit the pages not yet promised (out of {@code totalPages * overcommit}) and the last heartbeat reported
     * room for the prompt and its first token now.
     */
    boolean hasRoomFor(int promptTokens, int totalTokens, double overcommit) {
        return pagesFor(totalTokens) <= availablePages(overcommit) && pagesFor(promptTokens + 1) <= reportedFreePages;
    }

    long pagesFor(int tokens) {
        return (tokens + pageSize - 1) / pageSize;
    }

    /** The node said it is out of pages: place nothing more here until its next heartbeat reports room. */
    void markFull() {
        reportedFreePages = 0;
    }
}
