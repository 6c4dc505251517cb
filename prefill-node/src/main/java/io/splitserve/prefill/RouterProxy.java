package io.splitserve.prefill;

import io.aeron.ExclusivePublication;
import io.splitserve.sbe.BoundedOffer;
import io.splitserve.sbe.HeartbeatEncoder;
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
 * Outbound events of a prefill node to the router: NodeHello, Heartbeat and PrefillDone, SBE-encoded into one reused
 * buffer. An event that stays back-pressured or finds no router for 100 ms is dropped and reported false: the
 * router's heartbeat timeout and request timeouts cover a lost event, and the node never blocks its engine on it.
 */
final class RouterProxy implements AutoCloseable {
    private static final long OFFER_TIMEOUT_NS = TimeUnit.MILLISECONDS.toNanos(100);

    private final ExclusivePublication publication;
    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final NodeHelloEncoder hello = new NodeHelloEncoder();
    private final HeartbeatEncoder heartbeat = new HeartbeatEncoder();
    private final PrefillDoneEncoder prefillDone = new PrefillDoneEncoder();

    RouterProxy(ExclusivePublication publication) {
        this.publication = publication;
    }

    boolean isConnected() {
        return publication.isConnected();
    }

    boolean hello(PrefillNodeContext ctx, long fingerprint, int totalPages, int pageSize) {
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
                .modelName(ctx.modelName())
                .controlChannel(ctx.controlChannel())
                .kvChannel("")
                .kvAckChannel("");
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength());
    }

    boolean heartbeat(int nodeId, long nowNanos, int freePages, long queuedTokens, int queued, long stepNanosP50) {
        heartbeat.wrapAndApplyHeader(buffer, 0, header)
                .nodeId(nodeId)
                .timestampNanos(nowNanos)
                .freeKvPages(freePages)
                .queuedTokens(queuedTokens)
                .runningSequences(queued)
                .stepNanosP50(stepNanosP50);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + heartbeat.encodedLength());
    }

    boolean prefillDone(long requestId, int nodeId, int firstToken, int promptTokens, long prefillNanos,
                        KvTransferStatus status, long kvBytes) {
        prefillDone.wrapAndApplyHeader(buffer, 0, header)
                .requestId(requestId)
                .nodeId(nodeId)
                .firstToken(firstToken)
                .promptTokens(promptTokens)
                .prefillNanos(prefillNanos)
                .kvStatus(status)
                .kvBytes(kvBytes);
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
