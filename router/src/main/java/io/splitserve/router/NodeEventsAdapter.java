package io.splitserve.router;

import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import io.splitserve.sbe.DecodeDoneDecoder;
import io.splitserve.sbe.FinishReason;
import io.splitserve.sbe.HeartbeatDecoder;
import io.splitserve.sbe.MessageHeaderDecoder;
import io.splitserve.sbe.NodeHelloDecoder;
import io.splitserve.sbe.PrefillDoneDecoder;
import io.splitserve.sbe.TokenEventDecoder;
import org.agrona.DirectBuffer;

/**
 * Inbound side of the router's node-events stream: NodeHello (with the session of the image it came on, so the
 * router knows whose image closes), Heartbeat, PrefillDone, TokenEvent and DecodeDone, decoded and handed to the
 * router agent. Enum values newer than this router's schema never throw: a KV status goes on as its raw value and a
 * finish reason as NULL_VAL, for the router to report as unknown. Messages of other schemas or types are ignored.
 */
final class NodeEventsAdapter implements FragmentHandler {
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final NodeHelloDecoder hello = new NodeHelloDecoder();
    private final HeartbeatDecoder heartbeat = new HeartbeatDecoder();
    private final PrefillDoneDecoder prefillDone = new PrefillDoneDecoder();
    private final TokenEventDecoder token = new TokenEventDecoder();
    private final DecodeDoneDecoder decodeDone = new DecodeDoneDecoder();
    private final RouterAgent router;

    NodeEventsAdapter(RouterAgent router) {
        this.router = router;
    }

    @Override
    public void onFragment(DirectBuffer buffer, int offset, int length, Header h) {
        header.wrap(buffer, offset);
        if (header.schemaId() != NodeHelloDecoder.SCHEMA_ID) {
            return;
        }
        switch (header.templateId()) {
            case TokenEventDecoder.TEMPLATE_ID -> {
                token.wrapAndApplyHeader(buffer, offset, header);
                router.onNodeToken(token.requestId(), token.index(), token.tokenId(), token.timestampNanos());
            }
            case HeartbeatDecoder.TEMPLATE_ID -> {
                heartbeat.wrapAndApplyHeader(buffer, offset, header);
                router.onHeartbeat(heartbeat.nodeId(), heartbeat.freeKvPages());
            }
            case PrefillDoneDecoder.TEMPLATE_ID -> {
                prefillDone.wrapAndApplyHeader(buffer, offset, header);
                router.onPrefillDone(prefillDone.requestId(), prefillDone.firstToken(), prefillDone.kvStatusRaw(),
                        prefillDone.kvBytes());
            }
            case DecodeDoneDecoder.TEMPLATE_ID -> {
                decodeDone.wrapAndApplyHeader(buffer, offset, header);
                router.onDecodeDone(decodeDone.requestId(), finishReason(decodeDone.finishReasonRaw()));
            }
            case NodeHelloDecoder.TEMPLATE_ID -> {
                hello.wrapAndApplyHeader(buffer, offset, header);
                final int nodeId = hello.nodeId();
                final var role = hello.role();
                final int totalPages = hello.totalKvPages();
                final int pageSize = hello.pageSize();
                final int controlStreamId = hello.controlStreamId();
                final int kvStreamId = hello.kvStreamId();
                final int kvAckStreamId = hello.kvAckStreamId();
                final String modelName = hello.modelName();
                final String controlChannel = hello.controlChannel();
                final String kvChannel = hello.kvChannel();
                final String kvAckChannel = hello.kvAckChannel();
                router.onNodeHello(nodeId, h.sessionId(), role, totalPages, pageSize, modelName, controlChannel, controlStreamId,
                        kvChannel, kvStreamId, kvAckChannel, kvAckStreamId);
            }
            default -> { }
        }
    }

    private static FinishReason finishReason(short raw) {
        for (FinishReason reason : FinishReason.values()) {
            if (reason.value() == raw) {
                return reason;
            }
        }
        return FinishReason.NULL_VAL;
    }
}
