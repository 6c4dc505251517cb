package io.splitserve.client;

/**
 * Receives one request's events on the client's receiving thread: tokens in order, exactly once, the last with its
 * finish reason; or one error. Nothing follows the last token or the error. Implementations must not block.
 */
public interface TokenListener {
    void onToken(Token token);

    void onError(SplitServeException error);
}
