package io.splitserve.router;

import io.aeron.ExclusivePublication;
import io.splitserve.sbe.BoundedOffer;
import io.splitserve.sbe.CancelRequestEncoder;
import io.splitserve.sbe.DecodeAdmitEncoder;
import io.splitserve.sbe.HelloProof;
import io.splitserve.sbe.MessageHeaderEncoder;
import io.splitserve.sbe.PrefillRequestEncoder;
import io.splitserve.sbe.RouterHelloEncoder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The router's outbound stream to one node, the real {@link NodeCommands}: PrefillRequest (with the decode node's KV
 * endpoint bytes copied unread from its NodeHello) and DecodeAdmit, both with the attempt's token, and CancelRequest, SBE-encoded into a buffer that
 * grows with the prompt. PrefillRequest and DecodeAdmit carry this router instance's epoch, so a node drops the work an
 * earlier router instance placed there once it hears this one. With a shared secret its first message on the
 * publication, and one after each NodeHello the router accepts ({@link #proveRouter}), is a RouterHello signed for this
 * publication's session, which the node needs before it takes commands from the session; it is signed once, as the
 * session never changes. An offer that fails (not connected, back-pressured past 100 ms) is reported false so the
 * router re-queues the request rather than waiting on a stuck node.
 */
final class NodeProxy implements NodeCommands {
    private static final long OFFER_TIMEOUT_NS = TimeUnit.MILLISECONDS.toNanos(100);

    private final ExclusivePublication publication;
    private final long routerEpoch;
    private final ExpandableDirectByteBuffer buffer = new ExpandableDirectByteBuffer(64 * 1024);
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final PrefillRequestEncoder prefill = new PrefillRequestEncoder();
    private final DecodeAdmitEncoder admit = new DecodeAdmitEncoder();
    private final CancelRequestEncoder cancel = new CancelRequestEncoder();
    private ByteBuffer ints = ByteBuffer.allocateDirect(16 * 1024).order(ByteOrder.LITTLE_ENDIAN);
    private final UnsafeBuffer intsView = new UnsafeBuffer(ints);
    private final UnsafeBuffer routerHello = new UnsafeBuffer(ByteBuffer.allocateDirect(128));
    private final int routerHelloLength;
    private boolean proved;

    /** {@code sharedSecret} null: no RouterHello is ever sent, as nodes without a secret need none. */
    NodeProxy(ExclusivePublication publication, long routerEpoch, byte[] sharedSecret) {
        this.publication = publication;
        this.routerEpoch = routerEpoch;
        if (sharedSecret == null) {
            routerHelloLength = 0;
            proved = true;
        } else {
            final RouterHelloEncoder hello = new RouterHelloEncoder().wrapAndApplyHeader(routerHello, 0,
                    new MessageHeaderEncoder()).controlSessionId(publication.sessionId());
            final byte[] proof = new byte[HelloProof.LENGTH];
            new HelloProof(sharedSecret).sign(routerHello, 0, MessageHeaderEncoder.ENCODED_LENGTH
                    + hello.encodedLength(), proof, 0);
            hello.putProof(proof, 0, proof.length);
            routerHelloLength = MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength();
        }
    }

    @Override
    public boolean proveRouter() {
        if (routerHelloLength == 0) {
            return true;
        }
        proved = BoundedOffer.offer(publication, routerHello, routerHelloLength, OFFER_TIMEOUT_NS);
        return proved;
    }

    @Override
    public boolean isConnected() {
        return publication.isConnected();
    }

    @Override
    public boolean prefill(long attemptId, long attemptToken, NodeState decode, int[] prompt, int maxNewTokens,
                           ValidatedRequest v, int sampledBefore, int decodeCachedTokens) {
        final int promptLength = prompt.length;
        prefill.wrapAndApplyHeader(buffer, 0, header)
                .requestId(attemptId)
                .decodeNodeId(decode.nodeId)
                .maxNewTokens(maxNewTokens)
                .temperature(v.temperature())
                .topP(v.topP())
                .topK(v.topK())
                .seed(v.seed())
                .decodeKvStreamId(decode.kvStreamId)
                .decodeKvAckStreamId(decode.kvAckStreamId)
                .sampledTokens(sampledBefore)
                .decodeCachedTokens(decodeCachedTokens)
                .attemptToken(attemptToken)
                .routerEpoch(routerEpoch)
                .decodeKvChannel(decode.kvChannel);
        fillInts(prompt, promptLength);
        prefill.putPromptTokens(intsView, 0, promptLength * Integer.BYTES);
        prefill.decodeKvAckChannel(decode.kvAckChannel);
        prefill.putDecodeKvEndpoint(decode.kvEndpoint, 0, decode.kvEndpoint.length);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + prefill.encodedLength());
    }

    @Override
    public boolean admit(long attemptId, long attemptToken, int prefillNodeId, int promptLength, int maxNewTokens,
                         ValidatedRequest v, int sampledBefore) {
        admit.wrapAndApplyHeader(buffer, 0, header)
                .requestId(attemptId)
                .prefillNodeId(prefillNodeId)
                .promptTokens(promptLength)
                .maxNewTokens(maxNewTokens)
                .temperature(v.temperature())
                .topP(v.topP())
                .topK(v.topK())
                .seed(v.seed())
                .sampledTokens(sampledBefore)
                .attemptToken(attemptToken)
                .routerEpoch(routerEpoch);
        final int[] stops = v.stopTokenIds();
        fillInts(stops, stops.length);
        admit.putStopTokens(intsView, 0, stops.length * Integer.BYTES);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + admit.encodedLength());
    }

    @Override
    public boolean cancel(long attemptId) {
        cancel.wrapAndApplyHeader(buffer, 0, header).requestId(attemptId).clientId(0);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + cancel.encodedLength());
    }

    private void fillInts(int[] values, int count) {
        if (ints.capacity() < count * Integer.BYTES) {
            ints = ByteBuffer.allocateDirect(count * Integer.BYTES * 2).order(ByteOrder.LITTLE_ENDIAN);
            intsView.wrap(ints);
        }
        ints.clear();
        for (int i = 0; i < count; i++) {
            ints.putInt(i * Integer.BYTES, values[i]);
        }
    }

    private boolean offer(int length) {
        return (proved || proveRouter()) && BoundedOffer.offer(publication, buffer, length, OFFER_TIMEOUT_NS);
    }

    @Override
    public void close() {
        CloseHelper.close(publication);
    }
}
