package io.splitserve.router;

import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;

/**
 * Where the router delivers one request's results, on the router's thread: tokens in order, exactly once, each with
 * the text it made final (never part of a stop string), the last one with its finish reason; or one error. After a
 * finish reason other than NONE, or an error, nothing more is delivered. Implementations must not block.
 */
public interface ResponseListener {
    /**
     * @param index      0 for the first generated token
     * @param tokenId    the token, or -1 on a final event that carries no token (cancel)
     * @param epochNanos when the token was sampled (its node's clock)
     */
    void onToken(int index, int tokenId, String text, FinishReason finish, long epochNanos, int promptTokens);

    void onError(ErrorCode code, String message);
}
