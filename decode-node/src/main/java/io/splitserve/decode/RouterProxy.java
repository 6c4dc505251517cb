package io.splitserve.decode;

import io.aeron.ExclusivePublication;
import io.splitserve.engine.kv.PrefixCacheStats;
import io.splitserve.sbe.BoundedOffer;
import io.splitserve.sbe.DecodeDoneEncoder;
import io.splitserve.sbe.FinishReason;
import io.splitserve.sbe.HeartbeatEncoder;
import io.splitserve.sbe.HelloSigner;
import io.splitserve.sbe.MessageHeaderEncoder;
import io.splitserve.sbe.NodeHelloEncoder;
import io.splitserve.sbe.NodeRole;
import io.splitserve.sbe.TokenEventEncoder;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Outbound events of a decode node to the router: NodeHello (with the context's KV endpoint, which the router passes
 * on to prefill nodes), Heartbeat, one TokenEvent per generated token (token
 * id and index; the router detokenizes) and DecodeDone, SBE-encoded into one reused buffer. All go on one
 * publication, so the router sees a sequence's tokens in order and its DecodeDone after them. An event that cannot
 * be offered within 1 s is reported false; the router's heartbeat timeout then treats the node as failed.
 */
final class RouterProxy implements AutoCloseable {
    private static final long OFFER_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(1);

    private final ExclusivePublication publication;
    private final HelloSigner signer;
    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final NodeHelloEncoder hello = new NodeHelloEncoder();
    private final HeartbeatEncoder heartbeat = new HeartbeatEncoder();
    private final TokenEventEncoder token = new TokenEventEncoder();
    private final DecodeDoneEncoder done = new DecodeDoneEncoder();

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
    boolean hello(DecodeNodeContext ctx, long fingerprint, int totalPages, int pageSize, int heartbeatSessionId) {
        hello.wrapAndApplyHeader(buffer, 0, header)
                .nodeId(ctx.nodeId())
                .role(ctx.colocated() ? NodeRole.PREFILL_AND_DECODE : NodeRole.DECODE)
                .modelFingerprint(fingerprint)
                .totalKvPages(totalPages)
                .pageSize(pageSize)
                .maxBatchTokens(ctx.maxBatchSize())
                .controlStreamId(ctx.controlStreamId())
                .kvStreamId(ctx.kvStreamId())
                .kvAckStreamId(ctx.kvAckStreamId())
                .proofTimestampNanos(signer.timestampNanos())
                .proofNonce(signer.nonce())
                .heartbeatSessionId(heartbeatSessionId)
                .modelName(ctx.modelName())
                .controlChannel(ctx.controlChannel())
                .kvChannel(ctx.kvChannel())
                .kvAckChannel(ctx.kvAckSubscribeChannel())
                .putKvEndpoint(ctx.kvEndpoint(), 0, ctx.kvEndpoint().length);
        final byte[] proof = signer.proofOf(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength());
        hello.putProof(proof, 0, proof.length);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength());
    }

    boolean heartbeat(int nodeId, long nowNanos, int freePages, long queuedTokens, int running, long stepNanos,
                      PrefixCacheStats prefixCache, long kvRefused) {
        heartbeat.wrapAndApplyHeader(buffer, 0, header)
                .nodeId(nodeId)
                .timestampNanos(nowNanos)
                .freeKvPages(freePages)
                .queuedTokens(queuedTokens)
                .runningSequences(running)
                .stepNanosP50(stepNanos)
                .cachedPages(prefixCache.cachedPages())
                .prefixLookupTokens(prefixCache.lookedUpTokens())
                .prefixHitTokens(prefixCache.hitTokens())
                .prefixEvictions(prefixCache.evictions())
                .prefixResends(0) // only a prefill node resends KV
                .kvRefused(kvRefused);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + heartbeat.encodedLength());
    }

    boolean token(long requestId, int index, int tokenId, FinishReason finish, long epochNanos) {
        token.wrapAndApplyHeader(buffer, 0, header)
                .requestId(requestId)
                .index(index)
                .tokenId(tokenId)
                .finishReason(finish)
                .timestampNanos(epochNanos)
                .logprob(Float.NaN)
                .clientId(0)
                .promptTokens(0)
                .text("");
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + token.encodedLength());
    }

    boolean decodeDone(long requestId, int nodeId, int generated, FinishReason reason) {
        done.wrapAndApplyHeader(buffer, 0, header)
                .requestId(requestId)
                .nodeId(nodeId)
                .generatedTokens(generated)
                .finishReason(reason);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + done.encodedLength());
    }

    private boolean offer(int length) {
        return BoundedOffer.offer(publication, buffer, length, OFFER_TIMEOUT_NS);
    }

    @Override
    public void close() {
        CloseHelper.close(publication);
    }
}
