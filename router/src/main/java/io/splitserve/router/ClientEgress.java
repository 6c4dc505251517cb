package io.splitserve.router;

import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;

/**
 * What the router sends to Aeron clients, each event tagged with the client id: tokens and errors. The seam
 * between the router's logic and the wire: {@link ClientEgressProxy} encodes these as SBE on the shared egress
 * stream, and tests record them. Each call reports false when the event was dropped (the client did not keep up).
 */
interface ClientEgress {
    boolean token(long clientId, long requestId, int index, int tokenId, String text, FinishReason finish,
                  long epochNanos, int promptTokens);

    boolean error(long clientId, long requestId, ErrorCode code, String message);
}
