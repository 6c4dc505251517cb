package io.splitserve.router;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import io.splitserve.sbe.CancelRequestDecoder;
import io.splitserve.sbe.ClientHelloDecoder;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.GenerateRequestDecoder;
import io.splitserve.sbe.MessageBounds;
import io.splitserve.sbe.MessageHeaderDecoder;
import io.splitserve.sbe.PromptFormat;
import io.splitserve.tokenizer.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import org.agrona.DirectBuffer;

/**
 * Inbound side of the router's client ingress stream: GenerateRequest (text prompt, or chat messages as a JSON array
 * of {role, content}; one sent again after a reconnect, with {@code resumeFromIndex}, goes to
 * {@link RouterAgent#onClientSentAgain} first), CancelRequest and ClientHello. A GenerateRequest is reduced to a {@link CompletionInput}, so
 * Aeron clients get exactly the checks and messages HTTP clients get; one whose chat JSON does not parse is refused
 * with BAD_REQUEST naming the problem, and so is one whose prompt format this router does not know. With a shared
 * secret, a ClientHello counts only with a valid proof, and requests and cancels only from the publication session
 * whose hello proved their client id ({@link PeerAuthenticator}); the rest is dropped unanswered. A message that does
 * not lie wholly within its fragment ({@link MessageBounds}) is ignored; every message is decoded from a view bounded
 * to its fragment.
 */
final class ClientIngressAdapter implements FragmentHandler {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<List<ChatMessage>> MESSAGES = new TypeReference<>() { };

    private final MessageBounds bounds = new MessageBounds();
    private final GenerateRequestDecoder generate = new GenerateRequestDecoder();
    private final CancelRequestDecoder cancel = new CancelRequestDecoder();
    private final ClientHelloDecoder hello = new ClientHelloDecoder();
    private final RouterAgent router;
    private final PeerAuthenticator.ProofReader helloProof = into -> hello.getProof(into, 0, into.length);

    ClientIngressAdapter(RouterAgent router) {
        this.router = router;
    }

    @Override
    public void onFragment(DirectBuffer fragment, int offset, int length, Header h) {
        if (!bounds.fits(fragment, offset, length)) {
            return;
        }
        final DirectBuffer buffer = bounds.buffer();
        final MessageHeaderDecoder header = bounds.header();
        switch (header.templateId()) {
            case GenerateRequestDecoder.TEMPLATE_ID -> onGenerate(buffer, header, h.sessionId());
            case CancelRequestDecoder.TEMPLATE_ID -> {
                cancel.wrapAndApplyHeader(buffer, 0, header);
                if (router.clientMessageProved(h.sessionId(), cancel.clientId())) {
                    router.onClientCancel(cancel.clientId(), cancel.requestId());
                }
            }
            case ClientHelloDecoder.TEMPLATE_ID -> {
                hello.wrapAndApplyHeader(buffer, 0, header);
                final long clientId = hello.clientId();
                if (router.helloProved(PeerAuthenticator.Refused.CLIENT_HELLO, h.sessionId(), "router: ClientHello of"
                        + " client " + clientId, buffer, 0, hello.limit(), hello.proofTimestampNanos(),
                        hello.proofNonce(), hello.proofLength(), helloProof)) {
                    router.onClientProved(h.sessionId(), clientId);
                    router.onClientHello(clientId);
                }
            }
            default -> { }
        }
    }

    private void onGenerate(DirectBuffer buffer, MessageHeaderDecoder header, int sessionId) {
        generate.wrapAndApplyHeader(buffer, 0, header);
        if (!router.clientMessageProved(sessionId, generate.clientId())) {
            return;
        }
        final long requestId = generate.requestId();
        final int maxNewTokens = generate.maxNewTokens();
        final double temperature = generate.temperature();
        final double topP = generate.topP();
        final int topK = generate.topK();
        final long seed = generate.seed();
        final PromptFormat format = promptFormat(generate.promptFormatRaw());
        final long clientId = generate.clientId();
        final boolean ignoreEos = generate.ignoreEos() == 1;
        final int resumeFromIndex = generate.resumeFromIndex(); // the null value from a first send or an older client
        final List<String> stops = new ArrayList<>();
        for (GenerateRequestDecoder.StopStringsDecoder s : generate.stopStrings()) {
            stops.add(s.text());
        }
        final String model = generate.model();
        final String prompt = generate.prompt();
        router.onClientHello(clientId); // first, so a request sent again finds its continuation running
        if (resumeFromIndex != GenerateRequestDecoder.resumeFromIndexNullValue()
                && router.onClientSentAgain(clientId, requestId, resumeFromIndex)) {
            return;
        }
        if (format == null) {
            router.rejectAeron(clientId, requestId, ErrorCode.BAD_REQUEST,
                    "unknown prompt format " + generate.promptFormatRaw());
            return;
        }
        List<ChatMessage> messages = null;
        if (format == PromptFormat.CHAT_JSON) {
            try {
                messages = JSON.readValue(prompt, MESSAGES);
            } catch (JsonProcessingException e) {
                router.rejectAeron(clientId, requestId, ErrorCode.BAD_REQUEST,
                        "chat messages are not a JSON array of {role, content}: " + e.getOriginalMessage());
                return;
            }
        }
        router.onClientGenerate(clientId, requestId, new CompletionInput(model.isEmpty() ? null : model,
                format == PromptFormat.CHAT_JSON ? null : prompt, messages, maxNewTokens, temperature,
                topP, topK, seed, stops, ignoreEos));
    }

    private static PromptFormat promptFormat(short raw) {
        for (PromptFormat format : PromptFormat.values()) {
            if (format != PromptFormat.NULL_VAL && format.value() == raw) {
                return format;
            }
        }
        return null;
    }
}
