package io.splitserve.router;

import java.util.ArrayList;
import java.util.List;

/** A node's {@link NodeCommands} that records each command instead of sending it, connected unless told otherwise. */
final class RecordingNodeCommands implements NodeCommands {
    /** One command as the node would receive it; {@code peerNodeId} is the decode node of a prefill, and vice versa. */
    record Sent(String kind, long attemptId, int peerNodeId, int[] prompt, int promptTokens, int maxNewTokens,
                int sampledBefore, int decodeCachedTokens, ValidatedRequest request, long attemptToken) { }

    final List<Sent> sent = new ArrayList<>();
    boolean connected = true;
    boolean closed;

    @Override
    public boolean isConnected() {
        return connected;
    }

    @Override
    public boolean prefill(long attemptId, long attemptToken, NodeState decode, int[] prompt, int maxNewTokens,
                           ValidatedRequest request, int sampledBefore, int decodeCachedTokens) {
        sent.add(new Sent("prefill", attemptId, decode.nodeId, prompt.clone(), prompt.length, maxNewTokens,
                sampledBefore, decodeCachedTokens, request, attemptToken));
        return connected;
    }

    @Override
    public boolean admit(long attemptId, long attemptToken, int prefillNodeId, int promptTokens, int maxNewTokens,
                         ValidatedRequest request, int sampledBefore) {
        sent.add(new Sent("admit", attemptId, prefillNodeId, null, promptTokens, maxNewTokens, sampledBefore, 0, request,
                attemptToken));
        return connected;
    }

    @Override
    public boolean proveRouter() {
        return connected;
    }

    @Override
    public boolean cancel(long attemptId) {
        sent.add(new Sent("cancel", attemptId, 0, null, 0, 0, 0, 0, null, 0));
        return connected;
    }

    /** The last command sent, which must be of {@code kind}. */
    Sent last(String kind) {
        if (sent.isEmpty() || !sent.get(sent.size() - 1).kind().equals(kind)) {
            throw new AssertionError("expected a " + kind + " last, got " + kinds());
        }
        return sent.get(sent.size() - 1);
    }

    List<String> kinds() {
        final List<String> kinds = new ArrayList<>();
        for (Sent s : sent) {
            kinds.add(s.kind() + " " + s.attemptId());
        }
        return kinds;
    }

    @Override
    public void close() {
        closed = true;
    }
}
