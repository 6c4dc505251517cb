package io.splitserve.prefill;

import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import io.splitserve.sbe.MessageHeaderDecoder;
import io.splitserve.sbe.PrefillRequestDecoder;
import io.splitserve.sbe.RouterHelloDecoder;
import io.splitserve.sbe.RouterSessionGuard;
import org.agrona.DirectBuffer;

/**
 * Inbound side of a prefill node's control stream: decodes PrefillRequests (messages of other types and other
 * schemas are ignored) and hands their fields to the agent, the decode node's KV endpoint as the bytes the router
 * sent, the attempt token as 0 when the router sent none. With a shared secret a PrefillRequest is taken only from the
 * session a RouterHello proved the router's ({@link RouterSessionGuard}). Fragments arrive reassembled.
 */
final class PrefillRequestAdapter implements FragmentHandler {
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final PrefillRequestDecoder request = new PrefillRequestDecoder();
    private final PrefillNodeAgent agent;
    private final RouterSessionGuard routerSession;
    private byte[] tokenBytes = new byte[1024];

    PrefillRequestAdapter(PrefillNodeAgent agent, RouterSessionGuard routerSession) {
        this.agent = agent;
        this.routerSession = routerSession;
    }

    @Override
    public void onFragment(DirectBuffer buffer, int offset, int length, Header h) {
        header.wrap(buffer, offset);
        if (header.schemaId() != PrefillRequestDecoder.SCHEMA_ID) {
            return;
        }
        if (header.templateId() == RouterHelloDecoder.TEMPLATE_ID) {
            routerSession.onRouterHello(buffer, offset, length, h.sessionId());
            return;
        }
        if (header.templateId() != PrefillRequestDecoder.TEMPLATE_ID
                || !routerSession.accepts(h.sessionId(), "PrefillRequest")) {
            return;
        }
        request.wrapAndApplyHeader(buffer, offset, header);
        final long requestId = request.requestId();
        final int maxNewTokens = request.maxNewTokens();
        final float temperature = request.temperature();
        final float topP = request.topP();
        final int topK = request.topK();
        final long seed = request.seed();
        final int kvStreamId = request.decodeKvStreamId();
        final int kvAckStreamId = request.decodeKvAckStreamId();
        final int sampledTokens = Math.max(0, request.sampledTokens() == PrefillRequestDecoder.sampledTokensNullValue()
                ? 0 : request.sampledTokens());
        final int decodeCachedTokens = request.decodeCachedTokens() == PrefillRequestDecoder.decodeCachedTokensNullValue()
                ? 0 : Math.max(0, request.decodeCachedTokens()); // a router older than version 5 names none
        final long attemptToken = request.attemptToken() == PrefillRequestDecoder.attemptTokenNullValue()
                ? 0 : request.attemptToken(); // a router older than version 5 draws none
        final String kvChannel = request.decodeKvChannel();
        final int bytes = request.promptTokensLength();
        if (tokenBytes.length < bytes) {
            tokenBytes = new byte[bytes];
        }
        request.getPromptTokens(tokenBytes, 0, bytes);
        final int[] tokens = new int[bytes / Integer.BYTES];
        for (int i = 0; i < tokens.length; i++) {
            final int b = i * 4;
            tokens[i] = (tokenBytes[b] & 0xff) | (tokenBytes[b + 1] & 0xff) << 8 | (tokenBytes[b + 2] & 0xff) << 16
                    | (tokenBytes[b + 3] & 0xff) << 24;
        }
        final String kvAckChannel = request.decodeKvAckChannel();
        final byte[] decodeKvEndpoint = new byte[request.decodeKvEndpointLength()]; // empty from an older router
        request.getDecodeKvEndpoint(decodeKvEndpoint, 0, decodeKvEndpoint.length);
        agent.onPrefillRequest(requestId, tokens, maxNewTokens, temperature, topP, topK, seed, sampledTokens,
                kvChannel, kvStreamId, kvAckChannel, kvAckStreamId, decodeKvEndpoint, decodeCachedTokens,
                attemptToken);
    }
}
