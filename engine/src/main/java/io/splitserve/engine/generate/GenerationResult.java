package io.splitserve.engine.generate;

/**
 * What a finished generation produced, with its timings.
 *
 * @param promptTokens      the prompt ids
 * @param tokens            the generated ids, a final stop token included
 * @param text              the generated text, stop strings and stop tokens excluded
 * @param finishReason      why it ended
 * @param timeToFirstTokenNanos time from submission to the first generated token (the prefill)
 * @param decodeNanos       time from the first generated token to the last
 */
public record GenerationResult(
    int[] promptTokens,
    int[] tokens,
    String text,
    FinishReason finishReason,
    long timeToFirstTokenNanos,
    long decodeNanos) {

    /** Prompt tokens processed per second during the prefill. */
    public double promptTokensPerSecond() {
        return timeToFirstTokenNanos == 0 ? 0 : promptTokens.length * 1e9 / timeToFirstTokenNanos;
    }

    /** Tokens generated per second after the first one. */
    public double decodeTokensPerSecond() {
        return decodeNanos == 0 || tokens.length < 2 ? 0 : (tokens.length - 1) * 1e9 / decodeNanos;
    }
}
