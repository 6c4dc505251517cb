package io.splitserve.sbe;

import java.util.function.Consumer;
import org.agrona.DirectBuffer;
import org.agrona.collections.ObjectHashSet;

/**
 * A node's door for router commands: with a shared secret, a node takes commands on its control stream
 * (PrefillRequest, DecodeAdmit, CancelRequest) only from the publication session of the latest {@code RouterHello}
 * whose {@link HelloProof} verifies and whose {@code controlSessionId} is the session it arrived on (so its bytes sent
 * again from another session prove nothing). Everything else is dropped, counted and logged once per source session
 * and kind. Only the latest proved session counts: a restarted router proves its new publication, and the dead one's
 * session speaks no more. Without a secret every command is taken, as before.
 *
 * <p>Node-agent thread only; allocates only when it logs a refusal.
 */
public final class RouterSessionGuard {
    /** No session proved yet. */
    static final long NONE = Long.MIN_VALUE;

    private final HelloProof proof;
    private final Consumer<String> log;
    private final RouterHelloDecoder hello = new RouterHelloDecoder();
    private final MessageBounds bounds = new MessageBounds();
    private final byte[] proofBytes = new byte[HelloProof.LENGTH];
    private final ObjectHashSet<String> logged = new ObjectHashSet<>();
    private long provedSession = NONE;
    private long refused;

    /** {@code secret} null: no check, every command is taken. */
    public RouterSessionGuard(byte[] secret, Consumer<String> log) {
        this.proof = secret == null ? null : new HelloProof(secret);
        this.log = log;
    }

    /**
     * A RouterHello in {@code buffer[offset, offset + length)} arrived on {@code sessionId}: when its proof holds for
     * that session, the session becomes the router's. Returns whether it did.
     */
    public boolean onRouterHello(DirectBuffer buffer, int offset, int length, int sessionId) {
        if (proof == null) {
            return false;
        }
        final String reason;
        if (!bounds.fits(buffer, offset, length)) {
            reason = "it does not lie within its fragment";
        } else {
            hello.wrapAndApplyHeader(bounds.buffer(), 0, bounds.header());
            final int claimed = hello.controlSessionId();
            final int signedLength = hello.limit();
            final int proofLength = hello.proofLength();
            if (proofLength != HelloProof.LENGTH) {
                reason = "its proof has " + proofLength + " bytes, not " + HelloProof.LENGTH;
            } else {
                hello.getProof(proofBytes, 0, proofLength);
                reason = !proof.verify(bounds.buffer(), 0, signedLength, proofBytes, proofLength)
                        ? "its proof does not match the shared secret"
                        : claimed != sessionId ? "it was signed for session " + claimed + ", not the one it came on"
                        : null;
            }
        }
        if (reason != null) {
            refuse("RouterHello", sessionId, "RouterHello refused: " + reason);
            return false;
        }
        provedSession = sessionId;
        return true;
    }

    /** Whether a router command of {@code kind} arriving on {@code sessionId} may be taken; counts refusals. */
    public boolean accepts(int sessionId, String kind) {
        if (proof == null || provedSession == sessionId) {
            return true;
        }
        refuse(kind, sessionId, kind + " refused: " + (provedSession == NONE
                ? "no RouterHello proved the router's session yet" : "it did not come from the router's session"));
        return false;
    }

    /** Messages refused since the node started. */
    public long refused() {
        return refused;
    }

    private void refuse(String kind, int sessionId, String line) {
        refused++;
        if (logged.add(kind + "/" + sessionId)) {
            log.accept(line + " (session " + sessionId + "; said once for this source)");
        }
    }
}
