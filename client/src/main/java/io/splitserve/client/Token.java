package io.splitserve.client;

import io.splitserve.sbe.FinishReason;

/**
 * One event of a request's stream: a generated token with the text it made final, or (with {@code tokenId} -1) a
 * final event that carries no token, such as CANCELLED. The last event has a finish reason other than NONE.
 *
 * @param sampledEpochNanos  when the node sampled the token (epoch nanoseconds, the node's clock)
 * @param receivedEpochNanos when this client received it (epoch nanoseconds)
 */
public record Token(long requestId, int index, int tokenId, String text, FinishReason finish, int promptTokens,
                    long sampledEpochNanos, long receivedEpochNanos) {

    public boolean isLast() {
        return finish != FinishReason.NONE;
    }
}
