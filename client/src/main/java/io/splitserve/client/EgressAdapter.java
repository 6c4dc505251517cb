package io.splitserve.client;

import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import io.splitserve.sbe.MessageHeaderDecoder;
import io.splitserve.sbe.RequestErrorDecoder;
import io.splitserve.sbe.TokenEventDecoder;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.EpochNanoClock;
import org.agrona.concurrent.SystemEpochNanoClock;

/**
 * Inbound side of the router's egress stream: keeps the TokenEvents and RequestErrors tagged with this client's id
 * (the stream is shared by every client) and hands them to the client. Reading the receive time first keeps the
 * measured delivery latency free of decoding work.
 */
final class EgressAdapter implements FragmentHandler {
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final TokenEventDecoder token = new TokenEventDecoder();
    private final RequestErrorDecoder error = new RequestErrorDecoder();
    private final EpochNanoClock clock = new SystemEpochNanoClock();
    private final long clientId;
    private final SplitServeClient client;

    EgressAdapter(long clientId, SplitServeClient client) {
        this.clientId = clientId;
        this.client = client;
    }

    @Override
    public void onFragment(DirectBuffer buffer, int offset, int length, Header h) {
        final long received = clock.nanoTime();
        header.wrap(buffer, offset);
        if (header.schemaId() != TokenEventDecoder.SCHEMA_ID) {
            return;
        }
        if (header.templateId() == TokenEventDecoder.TEMPLATE_ID) {
            token.wrapAndApplyHeader(buffer, offset, header);
            if (token.clientId() == clientId) {
                client.onToken(new Token(token.requestId(), token.index(), token.tokenId(), token.text(),
                        token.finishReason(), token.promptTokens(), token.timestampNanos(), received));
            }
        } else if (header.templateId() == RequestErrorDecoder.TEMPLATE_ID) {
            error.wrapAndApplyHeader(buffer, offset, header);
            if (error.clientId() == clientId) {
                client.onError(error.requestId(), error.code(), error.message());
            }
        }
    }
}
