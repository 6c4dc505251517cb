package io.splitserve.perf.load;

/**
 * What a {@link LoadTarget} reports about one request, as it happens: each arrival of generated text, then exactly
 * one end (completion or error). Times are {@link System#nanoTime()} readings taken when the event reached the
 * load generator.
 */
public interface ResponseObserver {
    /** Generated text arrived (one token over Aeron; one streamed chunk over HTTP). */
    void onTokens(long nowNs);

    void onComplete(long nowNs, int promptTokens, int outputTokens);

    /** The request failed; {@code kind} names the failure class for the error table (e.g. OVERLOADED, HTTP_503). */
    void onError(long nowNs, String kind);
}
