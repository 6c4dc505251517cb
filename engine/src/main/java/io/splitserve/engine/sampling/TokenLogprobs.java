package io.splitserve.engine.sampling;

import io.splitserve.model.SamplingParams;
import java.util.Arrays;

/**
 * The log-probabilities reported with one sampled token (OpenAI's {@code logprobs}): the chosen token's and the
 * {@link #count()} most likely tokens' of its row, most likely first (equal values: lower id first), all taken from
 * the model's raw logits, before bias, penalties and temperature, as vLLM reports them by default. A holder the
 * engine fills again at every step (no allocation per token); {@link #copy()} keeps one.
 */
public final class TokenLogprobs {
    private final int[] topTokens = new int[SamplingParams.MAX_LOGPROBS];
    private final float[] topLogprobs = new float[SamplingParams.MAX_LOGPROBS];
    private int token;
    private float logprob;
    private int count;

    /** The token sampled. */
    public int token() {
        return token;
    }

    /** Its log-probability under the raw logits' softmax. */
    public float logprob() {
        return logprob;
    }

    /** How many top tokens follow: the request's {@link SamplingParams#logprobs()}. */
    public int count() {
        return count;
    }

    /** The {@code i}-th most likely token, {@code 0 <= i < count()}. */
    public int topToken(int i) {
        return topTokens[check(i)];
    }

    public float topLogprob(int i) {
        return topLogprobs[check(i)];
    }

    /** A holder of its own with the same values. */
    public TokenLogprobs copy() {
        final TokenLogprobs copy = new TokenLogprobs();
        copy.set(token, logprob, count);
        System.arraycopy(topTokens, 0, copy.topTokens, 0, count);
        System.arraycopy(topLogprobs, 0, copy.topLogprobs, 0, count);
        return copy;
    }

    /** Sets the chosen token, its log-probability and how many top entries follow (for the samplers). */
    public void set(int token, float logprob, int count) {
        if (count < 0 || count > SamplingParams.MAX_LOGPROBS) {
            throw new IllegalArgumentException("top logprobs " + count + " outside [0, " + SamplingParams.MAX_LOGPROBS
                    + "]");
        }
        this.token = token;
        this.logprob = logprob;
        this.count = count;
    }

    /** Sets top entry {@code i} (for the samplers). */
    public void setTop(int i, int token, float logprob) {
        topTokens[i] = token;
        topLogprobs[i] = logprob;
    }

    private int check(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException("top logprob " + i + " of " + count);
        }
        return i;
    }

    @Override
    public String toString() {
        return "TokenLogprobs{token=" + token + ", logprob=" + logprob + ", top="
                + Arrays.toString(Arrays.copyOf(topTokens, count)) + " "
                + Arrays.toString(Arrays.copyOf(topLogprobs, count)) + "}";
    }
}
