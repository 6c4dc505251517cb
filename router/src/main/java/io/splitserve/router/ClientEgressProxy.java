package io.splitserve.router;

import io.aeron.ExclusivePublication;
import io.splitserve.sbe.BoundedOffer;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import io.splitserve.sbe.MessageHeaderEncoder;
import io.splitserve.sbe.RequestErrorEncoder;
import io.splitserve.sbe.TokenEventEncoder;
import java.util.concurrent.TimeUnit;
import org.agrona.ExpandableDirectByteBuffer;

/**
 * The router's outbound stream to Aeron clients: TokenEvent (with the text it made final) and RequestError, each
 * tagged with the client id, so every client on the shared egress keeps only its own. A client that does not keep
 * up for 100 ms loses the event (counted by the router) rather than stalling every other request.
 */
final class ClientEgressProxy implements ClientEgress, AutoCloseable {
    private static final long OFFER_TIMEOUT_NS = TimeUnit.MILLISECONDS.toNanos(100);

    private final ExclusivePublication publication;
    private final ExpandableDirectByteBuffer buffer = new ExpandableDirectByteBuffer(4096);
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final TokenEventEncoder token = new TokenEventEncoder();
    private final RequestErrorEncoder error = new RequestErrorEncoder();

    ClientEgressProxy(ExclusivePublication publication) {
        this.publication = publication;
    }

    @Override
    public boolean token(long clientId, long requestId, int index, int tokenId, String text, FinishReason finish,
                  long epochNanos, int promptTokens) {
        token.wrapAndApplyHeader(buffer, 0, header)
                .requestId(requestId)
                .index(index)
                .tokenId(tokenId)
                .finishReason(finish)
                .timestampNanos(epochNanos)
                .logprob(Float.NaN)
                .clientId(clientId)
                .promptTokens(promptTokens)
                .text(text);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + token.encodedLength());
    }

    @Override
    public boolean error(long clientId, long requestId, ErrorCode code, String message) {
        error.wrapAndApplyHeader(buffer, 0, header)
                .requestId(requestId)
                .code(code)
                .clientId(clientId)
                .message(message);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + error.encodedLength());
    }

    private boolean offer(int length) {
        return BoundedOffer.offer(publication, buffer, length, OFFER_TIMEOUT_NS);
    }

    @Override
    public void close() {
        publication.close();
    }
}
