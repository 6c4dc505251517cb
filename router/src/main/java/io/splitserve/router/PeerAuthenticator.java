package io.splitserve.router;

import io.splitserve.sbe.HelloProof;
import java.util.ArrayDeque;
import java.util.function.Consumer;
import org.agrona.DirectBuffer;
import org.agrona.collections.Int2IntHashMap;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.ObjectHashSet;

/**
 * Who may talk to the router: with a shared secret configured, a NodeHello registers its node and a ClientHello opens
 * its client session only with a valid {@link HelloProof} over the hello, a proof timestamp within
 * {@link #WINDOW_NS} of the router's wall clock and a nonce this router has not accepted within that window, so a
 * recorded hello sent again is refused. An Aeron client's requests and cancels count only from the publication session
 * whose ClientHello proved their client id; a node's heartbeats and events (first tokens, prefill outcomes, tokens,
 * sequence ends) count only from the two sessions its proved NodeHello named, the hello's own and its heartbeats'
 * ({@link #nodeProved}), each forgotten when its image closes. Without a secret every hello, request and node event is
 * accepted, as on a loopback-only deployment (the launcher refuses other endpoints without a secret unless told it is
 * insecure).
 *
 * <p>Every refusal is counted by what was refused (for {@code splitserve_auth_refused_total}) and logged once per
 * source (an events or ingress session) and kind (for node events, the message's kind), never once per message. Nonces are remembered only for the window:
 * a hello older than that is refused by its timestamp. Router-thread only.
 */
final class PeerAuthenticator {
    /** What {@link #nodeProved} takes as "no heartbeat session named": the wire's null value of an int32. */
    static final int NO_SESSION = Integer.MIN_VALUE;
    private static final int NO_NODE = Integer.MIN_VALUE;

    /** How far a proof's timestamp may lie from the router's wall clock, either way: clocks of hosts differ a little. */
    static final long WINDOW_NS = 30_000_000_000L;

    /** What a refusal refused, as the metric's label. */
    enum Refused {
        NODE_HELLO("node_hello"), NODE_EVENT("node_event"), CLIENT_HELLO("client_hello"),
        CLIENT_REQUEST("client_request");

        final String label;

        Refused(String label) {
            this.label = label;
        }
    }

    private final HelloProof proof;
    private final Consumer<String> log;
    private final Long2LongHashMap seenNonces = new Long2LongHashMap(Long.MIN_VALUE); // nonce -> its timestamp
    private final ArrayDeque<long[]> nonceOrder = new ArrayDeque<>(); // {timestamp, nonce}, in acceptance order
    private final Int2ObjectHashMap<long[]> clientBySession = new Int2ObjectHashMap<>();
    private final Int2IntHashMap nodeBySession = new Int2IntHashMap(NO_NODE);
    private final ObjectHashSet<String> logged = new ObjectHashSet<>();
    private final long[] refused = new long[Refused.values().length];
    private final byte[] proofBytes = new byte[HelloProof.LENGTH];

    /** {@code secret} null: no authentication (every hello and request is accepted). */
    PeerAuthenticator(byte[] secret, Consumer<String> log) {
        this.proof = secret == null ? null : new HelloProof(secret);
        this.log = log;
    }

    boolean enabled() {
        return proof != null;
    }

    /**
     * Whether a hello whose signed bytes are {@code buffer[offset, offset + signedLength)} and whose proof field
     * ({@code proofLength} bytes, read by {@code readProof}) follows them may be believed. Refusals are counted as
     * {@code what} and logged once for {@code sessionId}.
     */
    boolean acceptHello(Refused what, int sessionId, String who, DirectBuffer buffer, int offset, int signedLength,
                        long timestampNs, long nonce, int proofLength, ProofReader readProof, long nowEpochNs) {
        if (proof == null) {
            return true;
        }
        final String reason;
        if (proofLength != HelloProof.LENGTH) {
            reason = proofLength == 0 ? "it carries no proof of the shared secret" : "its proof has " + proofLength
                    + " bytes, not " + HelloProof.LENGTH;
        } else {
            readProof.read(proofBytes);
            reason = !proof.verify(buffer, offset, signedLength, proofBytes, proofLength)
                    ? "its proof does not match the shared secret"
                    : Math.abs(nowEpochNs - timestampNs) > WINDOW_NS
                    ? "its proof was made " + (nowEpochNs - timestampNs) / 1_000_000 + " ms from now, outside the "
                            + WINDOW_NS / 1_000_000 + " ms window"
                    : seen(nonce, nowEpochNs) ? "it repeats a hello already accepted (a replay)" : null;
        }
        if (reason != null) {
            refuse(what, sessionId, who + " refused: " + reason);
            return false;
        }
        remember(nonce, timestampNs);
        return true;
    }

    /** A client's hello on ingress session {@code sessionId} was accepted: its requests count from that session. */
    void clientProved(int sessionId, long clientId) {
        if (proof != null) {
            clientBySession.put(sessionId, new long[] {clientId});
        }
    }

    /** Whether a request or cancel of {@code clientId} arriving on {@code sessionId} may be taken; counts refusals. */
    boolean acceptClientMessage(int sessionId, long clientId) {
        if (proof == null) {
            return true;
        }
        final long[] proved = clientBySession.get(sessionId);
        if (proved != null && proved[0] == clientId) {
            return true;
        }
        refuse(Refused.CLIENT_REQUEST, sessionId, "router: requests of client " + clientId + " refused: "
                + (proved == null ? "its session never proved the shared secret in a ClientHello"
                        : "its session proved client " + proved[0] + ", not this one"));
        return false;
    }

    /** An ingress image closed: its session proves nothing any more. */
    void sessionClosed(int sessionId) {
        clientBySession.remove(sessionId);
    }

    /**
     * A node's hello on events session {@code eventsSessionId} was accepted: that session and the one it named for its
     * heartbeats ({@code heartbeatSessionId}, {@link #NO_SESSION} for none) speak for {@code nodeId} from now on, until
     * their images close or a later proved hello gives a session to another node.
     */
    void nodeProved(int eventsSessionId, int heartbeatSessionId, int nodeId) {
        if (proof != null) {
            nodeBySession.put(eventsSessionId, nodeId);
            if (heartbeatSessionId != NO_SESSION) {
                nodeBySession.put(heartbeatSessionId, nodeId);
            }
        }
    }

    /**
     * Whether a node message of {@code kind} (a heartbeat, a first token...) arriving on events session
     * {@code sessionId} may be taken as {@code nodeId}'s: only from a session its proved hello bound to it. Refusals
     * are counted as {@link Refused#NODE_EVENT} and logged once per session and kind.
     */
    boolean acceptNodeMessage(int sessionId, String kind, int nodeId) {
        if (proof == null) {
            return true;
        }
        final int proved = nodeBySession.get(sessionId);
        if (proved == nodeId) {
            return true;
        }
        refused[Refused.NODE_EVENT.ordinal()]++;
        if (logged.add(Refused.NODE_EVENT.label + "/" + kind + "/" + sessionId)) {
            log.accept("router: " + kind + " for node " + nodeId + " refused: " + (proved == NO_NODE
                    ? "its session never proved the shared secret in a NodeHello"
                    : "its session proved node " + proved + ", not this one") + " (said once for this source)");
        }
        return false;
    }

    /** An events image closed: its session speaks for no node any more. */
    void nodeSessionClosed(int sessionId) {
        nodeBySession.remove(sessionId);
    }

    long refused(Refused what) {
        return refused[what.ordinal()];
    }

    private void refuse(Refused what, int sessionId, String line) {
        refused[what.ordinal()]++;
        if (logged.add(what.label + "/" + sessionId)) {
            log.accept(line + " (said once for this source)");
        }
    }

    private boolean seen(long nonce, long nowEpochNs) {
        while (!nonceOrder.isEmpty() && nowEpochNs - nonceOrder.peekFirst()[0] > WINDOW_NS) {
            final long[] old = nonceOrder.pollFirst(); // its hello could no longer pass the window anyway
            if (seenNonces.get(old[1]) == old[0]) {
                seenNonces.remove(old[1]);
            }
        }
        return seenNonces.containsKey(nonce);
    }

    private void remember(long nonce, long timestampNs) {
        seenNonces.put(nonce, timestampNs);
        nonceOrder.addLast(new long[] {timestampNs, nonce});
    }

    /** Copies a hello's proof field into the array given. */
    @FunctionalInterface
    interface ProofReader {
        void read(byte[] into);
    }
}
