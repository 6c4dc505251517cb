package io.splitserve.router;

import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import io.splitserve.sbe.DecodeDoneDecoder;
import io.splitserve.sbe.FinishReason;
import io.splitserve.sbe.FirstTokenDecoder;
import io.splitserve.sbe.HeartbeatDecoder;
import io.splitserve.sbe.KvPath;
import io.splitserve.sbe.MessageBounds;
import io.splitserve.sbe.MessageHeaderDecoder;
import io.splitserve.sbe.NodeHelloDecoder;
import io.splitserve.sbe.NodeRole;
import io.splitserve.sbe.PrefillDoneDecoder;
import io.splitserve.sbe.TokenEventDecoder;
import org.agrona.DirectBuffer;

/**
 * Inbound side of the router's node-events stream: NodeHello (with the session of the image it came on, so the
 * router knows whose image closes, and the node's KV endpoint as opaque bytes), Heartbeat, FirstToken, PrefillDone,
 * TokenEvent and DecodeDone, decoded and handed to the router agent. Enum values newer than this router's schema
 * never throw: a KV status goes on as its raw value, a finish reason and a KV path as NULL_VAL, for the router to
 * report as unknown; a PrefillDone from a node older than schema version 4 carries no path and is read as HOST, the
 * only path those nodes had. A NodeHello reaches the router only after its proof of the shared secret passed
 * ({@link PeerAuthenticator}: the proof covers every byte before it), and every other message goes on with the session
 * it came on, so the router takes it only from a session a proved hello bound to the node it speaks for. Messages of other schemas or types are ignored,
 * and so are messages that do not lie wholly within their fragment ({@link MessageBounds}) and hellos with a role
 * this router does not know: both are decoded only from a view bounded to the fragment.
 */
final class NodeEventsAdapter implements FragmentHandler {
    private final MessageBounds bounds = new MessageBounds();
    private final NodeHelloDecoder hello = new NodeHelloDecoder();
    private final HeartbeatDecoder heartbeat = new HeartbeatDecoder();
    private final PrefillDoneDecoder prefillDone = new PrefillDoneDecoder();
    private final TokenEventDecoder token = new TokenEventDecoder();
    private final FirstTokenDecoder firstToken = new FirstTokenDecoder();
    private final DecodeDoneDecoder decodeDone = new DecodeDoneDecoder();
    private final RouterAgent router;
    private final PeerAuthenticator.ProofReader helloProof = into -> hello.getProof(into, 0, into.length);

    NodeEventsAdapter(RouterAgent router) {
        this.router = router;
    }

    @Override
    public void onFragment(DirectBuffer fragment, int offset, int length, Header h) {
        if (!bounds.fits(fragment, offset, length)) {
            return;
        }
        final int sessionId = h.sessionId();
        final DirectBuffer buffer = bounds.buffer();
        final MessageHeaderDecoder header = bounds.header();
        switch (header.templateId()) {
            case TokenEventDecoder.TEMPLATE_ID -> {
                token.wrapAndApplyHeader(buffer, 0, header);
                router.onNodeToken(sessionId, token.requestId(), token.index(), token.tokenId(), token.timestampNanos());
            }
            case HeartbeatDecoder.TEMPLATE_ID -> {
                heartbeat.wrapAndApplyHeader(buffer, 0, header);
                final int cachedPages = heartbeat.cachedPages();
                final long lookups = heartbeat.prefixLookupTokens();
                final long hits = heartbeat.prefixHitTokens();
                final long evictions = heartbeat.prefixEvictions();
                final long resends = heartbeat.prefixResends();
                final long kvRefused = heartbeat.kvRefused();
                router.onHeartbeat(sessionId, heartbeat.nodeId(), heartbeat.freeKvPages(), // null values: a node before version 4
                        cachedPages == HeartbeatDecoder.cachedPagesNullValue() ? 0 : cachedPages,
                        lookups == HeartbeatDecoder.prefixLookupTokensNullValue() ? 0 : lookups,
                        hits == HeartbeatDecoder.prefixHitTokensNullValue() ? 0 : hits,
                        evictions == HeartbeatDecoder.prefixEvictionsNullValue() ? 0 : evictions,
                        resends == HeartbeatDecoder.prefixResendsNullValue() ? 0 : resends, // null: before version 5
                        kvRefused == HeartbeatDecoder.kvRefusedNullValue() ? 0 : kvRefused);
            }
            case FirstTokenDecoder.TEMPLATE_ID -> {
                firstToken.wrapAndApplyHeader(buffer, 0, header);
                router.onFirstToken(sessionId, firstToken.requestId(), firstToken.tokenId(), firstToken.timestampNanos());
            }
            case PrefillDoneDecoder.TEMPLATE_ID -> {
                prefillDone.wrapAndApplyHeader(buffer, 0, header);
                router.onPrefillDone(sessionId, prefillDone.requestId(), prefillDone.firstToken(), prefillDone.kvStatusRaw(),
                        kvPath(prefillDone.kvPathRaw()), prefillDone.kvBytes());
            }
            case DecodeDoneDecoder.TEMPLATE_ID -> {
                decodeDone.wrapAndApplyHeader(buffer, 0, header);
                router.onDecodeDone(sessionId, decodeDone.requestId(), finishReason(decodeDone.finishReasonRaw()));
            }
            case NodeHelloDecoder.TEMPLATE_ID -> {
                hello.wrapAndApplyHeader(buffer, 0, header);
                final int nodeId = hello.nodeId();
                final NodeRole role = nodeRole(hello.roleRaw());
                if (role == null) {
                    return;
                }
                final int totalPages = hello.totalKvPages();
                final int pageSize = hello.pageSize();
                final int controlStreamId = hello.controlStreamId();
                final int kvStreamId = hello.kvStreamId();
                final int kvAckStreamId = hello.kvAckStreamId();
                final long proofTimestamp = hello.proofTimestampNanos();
                final long proofNonce = hello.proofNonce();
                final int heartbeatSessionId = hello.heartbeatSessionId(); // null value: none named
                final String modelName = hello.modelName();
                final String controlChannel = hello.controlChannel();
                final String kvChannel = hello.kvChannel();
                final String kvAckChannel = hello.kvAckChannel();
                final byte[] kvEndpoint = new byte[hello.kvEndpointLength()];
                hello.getKvEndpoint(kvEndpoint, 0, kvEndpoint.length);
                if (!router.helloProved(PeerAuthenticator.Refused.NODE_HELLO, sessionId, "router: NodeHello of node "
                        + nodeId, buffer, 0, hello.limit(), proofTimestamp, proofNonce,
                        hello.proofLength(), helloProof)) {
                    return;
                }
                router.onNodeHello(nodeId, sessionId, heartbeatSessionId, role, totalPages, pageSize, modelName, controlChannel,
                        controlStreamId, kvChannel, kvStreamId, kvAckChannel, kvAckStreamId, kvEndpoint);
            }
            default -> { }
        }
    }

    private static NodeRole nodeRole(short raw) {
        for (NodeRole role : NodeRole.values()) {
            if (role != NodeRole.NULL_VAL && role.value() == raw) {
                return role;
            }
        }
        return null;
    }

    private static KvPath kvPath(short raw) {
        if (raw == KvPath.NULL_VAL.value()) {
            return KvPath.HOST; // absent: a node older than the GPU path
        }
        for (KvPath path : KvPath.values()) {
            if (path.value() == raw) {
                return path;
            }
        }
        return KvPath.NULL_VAL;
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
