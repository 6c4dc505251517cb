package io.splitserve.prefill;

import io.aeron.ExclusivePublication;
import io.splitserve.engine.kv.PrefixCacheStats;
import io.splitserve.sbe.BoundedOffer;
import io.splitserve.sbe.FirstTokenEncoder;
import io.splitserve.sbe.HeartbeatEncoder;
import io.splitserve.sbe.HelloSigner;
import io.splitserve.sbe.KvPath;
import io.splitserve.sbe.KvTransferStatus;
import io.splitserve.sbe.MessageHeaderEncoder;
import io.splitserve.sbe.NodeHelloEncoder;
import io.splitserve.sbe.NodeRole;
import io.splitserve.sbe.PrefillDoneEncoder;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Outbound events of a prefill node to the router: NodeHello (with an empty KV endpoint: nothing is sent to a prefill
 * node's KV memory), Heartbeat, FirstToken and PrefillDone, SBE-encoded into one reused buffer. All go on one
 * publication, so the router sees a request's FirstToken before its PrefillDone. An event that stays back-pressured
 * or finds no router for 100 ms is dropped and reported false: the router's heartbeat timeout and request timeouts
 * cover a lost event (a lost FirstToken only delays the first token to PrefillDone), and the node never blocks its
 * engine on it.
 */
final class RouterProxy implements AutoCloseable {
    private static final long OFFER_TIMEOUT_NS = TimeUnit.MILLISECONDS.toNanos(100);

    private final ExclusivePublication publication;
    private final HelloSigner signer;
    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final NodeHelloEncoder hello = new NodeHelloEncoder();
    private final HeartbeatEncoder heartbeat = new HeartbeatEncoder();
    private final PrefillDoneEncoder prefillDone = new PrefillDoneEncoder();
    private final FirstTokenEncoder firstToken = new FirstTokenEncoder();
    private static final byte[] NO_KV_ENDPOINT = new byte[0];

    /** {@code sharedSecret} null: hellos carry no proof. */
    RouterProxy(ExclusivePublication publication, byte[] sharedSecret) {
        this.publication = publication;
        this.signer = new HelloSigner(sharedSecret);
    }

    boolean isConnected() {
        return publication.isConnected();
    }

    /** The Aeron session of this proxy's publication, which a hello names for the heartbeats that leave on it. */
    int sessionId() {
        return publication.sessionId();
    }

    /**
     * The node's signed hello; {@code heartbeatSessionId} names the session of its liveness publication, so that with
     * a shared secret the router takes heartbeats from that session, and the node's other events from this one, alone.
     */
    boolean hello(PrefillNodeContext ctx, long fingerprint, int totalPages, int pageSize, int heartbeatSessionId) {
        hello.wrapAndApplyHeader(buffer, 0, header)
                .nodeId(ctx.nodeId())
                .role(NodeRole.PREFILL)
                .modelFingerprint(fingerprint)
                .totalKvPages(totalPages)
                .pageSize(pageSize)
                .maxBatchTokens(ctx.prefillTokenBudget())
                .controlStreamId(ctx.controlStreamId())
                .kvStreamId(0)
                .kvAckStreamId(0)
                .proofTimestampNanos(signer.timestampNanos())
                .proofNonce(signer.nonce())
                .heartbeatSessionId(heartbeatSessionId)
                .modelName(ctx.modelName())
                .controlChannel(ctx.controlChannel())
                .kvChannel("")
                .kvAckChannel("")
                .putKvEndpoint(NO_KV_ENDPOINT, 0, 0);
        final byte[] proof = signer.proofOf(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength());
        hello.putProof(proof, 0, proof.length);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength());
    }

    boolean heartbeat(int nodeId, long nowNanos, int freePages, long queuedTokens, int queued, long stepNanosP50,
                      PrefixCacheStats prefixCache, long prefixResends) {
        heartbeat.wrapAndApplyHeader(buffer, 0, header)
                .nodeId(nodeId)
                .timestampNanos(nowNanos)
                .freeKvPages(freePages)
                .queuedTokens(queuedTokens)
                .runningSequences(queued)
                .stepNanosP50(stepNanosP50)
                .cachedPages(prefixCache.cachedPages())
                .prefixLookupTokens(prefixCache.lookedUpTokens())
                .prefixHitTokens(prefixCache.hitTokens())
                .prefixEvictions(prefixCache.evictions())
                .prefixResends(prefixResends)
                .kvRefused(0); // only a decode node receives KV
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + heartbeat.encodedLength());
    }

    /** A request's first token, sampled at {@code epochNanos}, while its KV may still be streaming. */
    boolean firstToken(long requestId, int nodeId, int tokenId, int promptTokens, long epochNanos) {
        firstToken.wrapAndApplyHeader(buffer, 0, header)
                .requestId(requestId)
                .nodeId(nodeId)
                .tokenId(tokenId)
                .promptTokens(promptTokens)
                .timestampNanos(epochNanos);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + firstToken.encodedLength());
    }

    /** The end of a request's prefill and KV transfer: the outcome and the path the bytes took (HOST when not OK). */
    boolean prefillDone(long requestId, int nodeId, int firstToken, int promptTokens, long prefillNanos,
                        KvTransferStatus status, long kvBytes, KvPath kvPath) {
        prefillDone.wrapAndApplyHeader(buffer, 0, header)
                .requestId(requestId)
                .nodeId(nodeId)
                .firstToken(firstToken)
                .promptTokens(promptTokens)
                .prefillNanos(prefillNanos)
                .kvStatus(status)
                .kvBytes(kvBytes)
                .kvPath(kvPath);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + prefillDone.encodedLength());
    }

    private boolean offer(int length) {
        return BoundedOffer.offer(publication, buffer, length, OFFER_TIMEOUT_NS);
    }

    @Override
    public void close() {
        CloseHelper.close(publication);
    }
}
