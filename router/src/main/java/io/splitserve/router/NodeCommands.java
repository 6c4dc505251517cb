package io.splitserve.router;

/**
 * What the router tells one node: prefill a prompt for a decode node, expect a sequence's KV, or forget an attempt.
 * The seam between scheduling and the wire: {@link NodeProxy} encodes these as SBE on the node's control stream, and
 * tests record them. Each call reports false when the message could not be sent, so the caller re-queues rather
 * than waits on a stuck node.
 */
interface NodeCommands extends AutoCloseable {
    /** Whether the node's control stream has a subscriber now; a disconnected node gets no new attempt. */
    boolean isConnected();

    /**
     * Asks a prefill-capable node to prefill {@code prompt} and stream its KV to {@code decode}, which likely holds the
     * first {@code decodeCachedTokens} prompt tokens in its prefix cache (whole pages of it; 0 for none), so their KV
     * need not travel; the prefill node repeats {@code attemptToken} in the transfer's Begin.
     */
    boolean prefill(long attemptId, long attemptToken, NodeState decode, int[] prompt, int maxNewTokens,
                    ValidatedRequest request, int sampledBefore, int decodeCachedTokens);

    /**
     * Tells a decode-capable node that a sequence of {@code promptTokens} will arrive from {@code prefillNodeId}, in a
     * transfer whose Begin carries {@code attemptToken} (the one its PrefillRequest carries).
     */
    boolean admit(long attemptId, long attemptToken, int prefillNodeId, int promptTokens, int maxNewTokens,
                  ValidatedRequest request, int sampledBefore);

    /**
     * With a shared secret, proves to the node that this stream is the router's (a signed RouterHello), as the first
     * message and again after each NodeHello accepted (the node may have restarted); true without a secret.
     */
    boolean proveRouter();

    /** Tells the node to drop the attempt and free what it holds for it. */
    boolean cancel(long attemptId);

    @Override
    void close();
}
