package io.splitserve.decode;

import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import io.splitserve.sbe.CancelRequestDecoder;
import io.splitserve.sbe.DecodeAdmitDecoder;
import io.splitserve.sbe.MessageHeaderDecoder;
import io.splitserve.sbe.PrefillRequestDecoder;
import io.splitserve.sbe.RouterHelloDecoder;
import io.splitserve.sbe.RouterSessionGuard;
import org.agrona.DirectBuffer;

/**
 * Inbound side of a decode node's control stream: DecodeAdmit (how to decode a sequence whose KV is coming),
 * CancelRequest (stop a sequence) and, on a colocated node, PrefillRequest (the prompt itself). Other messages are
 * ignored. With a shared secret these commands are taken only from the session a RouterHello proved the router's
 * ({@link RouterSessionGuard}). Fragments arrive reassembled.
 */
final class DecodeControlAdapter implements FragmentHandler {
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final DecodeAdmitDecoder admit = new DecodeAdmitDecoder();
    private final CancelRequestDecoder cancel = new CancelRequestDecoder();
    private final PrefillRequestDecoder prefill = new PrefillRequestDecoder();
    private final DecodeNodeAgent agent;
    private final RouterSessionGuard routerSession;
    private byte[] bytes = new byte[1024];

    DecodeControlAdapter(DecodeNodeAgent agent, RouterSessionGuard routerSession) {
        this.agent = agent;
        this.routerSession = routerSession;
    }

    @Override
    public void onFragment(DirectBuffer buffer, int offset, int length, Header h) {
        header.wrap(buffer, offset);
        if (header.schemaId() != DecodeAdmitDecoder.SCHEMA_ID) {
            return;
        }
        final int session = h.sessionId();
        switch (header.templateId()) {
            case RouterHelloDecoder.TEMPLATE_ID -> routerSession.onRouterHello(buffer, offset, length, session);
            case DecodeAdmitDecoder.TEMPLATE_ID -> {
                if (routerSession.accepts(session, "DecodeAdmit")) {
                    onAdmit(buffer, offset);
                }
            }
            case CancelRequestDecoder.TEMPLATE_ID -> {
                if (routerSession.accepts(session, "CancelRequest")) {
                    cancel.wrapAndApplyHeader(buffer, offset, header);
                    agent.onCancel(cancel.requestId());
                }
            }
            case PrefillRequestDecoder.TEMPLATE_ID -> {
                if (!routerSession.accepts(session, "PrefillRequest")) {
                    return;
                }
                prefill.wrapAndApplyHeader(buffer, offset, header);
                final long requestId = prefill.requestId();
                prefill.skipDecodeKvChannel();
                final int n = prefill.promptTokensLength();
                agent.onPrompt(requestId, readInts(n, (dst, len) -> prefill.getPromptTokens(dst, 0, len)));
            }
            default -> { }
        }
    }

    private void onAdmit(DirectBuffer buffer, int offset) {
        admit.wrapAndApplyHeader(buffer, offset, header);
        final long requestId = admit.requestId();
        final int promptTokens = admit.promptTokens();
        final int maxNewTokens = admit.maxNewTokens();
        final float temperature = admit.temperature();
        final float topP = admit.topP();
        final int topK = admit.topK();
        final long seed = admit.seed();
        final int sampled = admit.sampledTokens() == DecodeAdmitDecoder.sampledTokensNullValue() ? 0 : admit.sampledTokens();
        final long attemptToken = admit.attemptToken() == DecodeAdmitDecoder.attemptTokenNullValue()
                ? 0 : admit.attemptToken(); // a router older than version 5 draws none
        final long routerEpoch = admit.routerEpoch() == DecodeAdmitDecoder.routerEpochNullValue()
                ? DecodeTicket.NO_EPOCH : admit.routerEpoch(); // a router older than version 6 names none
        final int prefillNodeId = admit.prefillNodeId();
        final int n = admit.stopTokensLength();
        final int[] stops = readInts(n, (dst, len) -> admit.getStopTokens(dst, 0, len));
        agent.onAdmit(requestId, routerEpoch, attemptToken, prefillNodeId, promptTokens, maxNewTokens, temperature, topP, topK, seed,
                sampled, stops);
    }

    private interface Reader {
        void read(byte[] dst, int length);
    }

    /** Reads {@code length} bytes of little-endian int32s. */
    private int[] readInts(int length, Reader reader) {
        if (bytes.length < length) {
            bytes = new byte[length];
        }
        reader.read(bytes, length);
        final int[] ints = new int[length / Integer.BYTES];
        for (int i = 0; i < ints.length; i++) {
            final int b = i * 4;
            ints[i] = (bytes[b] & 0xff) | (bytes[b + 1] & 0xff) << 8 | (bytes[b + 2] & 0xff) << 16
                    | (bytes[b + 3] & 0xff) << 24;
        }
        return ints;
    }
}
