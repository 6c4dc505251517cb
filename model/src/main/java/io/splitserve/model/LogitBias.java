package io.splitserve.model;

import java.util.Arrays;
import java.util.Map;

/**
 * A request's sparse logit bias, OpenAI's and vLLM's {@code logit_bias}: token id -> a bias in [-100, 100] added to
 * that token's logit before penalties, temperature and the filters. Immutable; the ids are distinct and ascending and
 * each bias is held as the float the samplers add (so host and device add the same number). Ids are checked against
 * a vocabulary only where one is known ({@link SamplingParams#checkVocabulary(int)}).
 */
public final class LogitBias {
    /** The bias of most requests: nothing added. */
    public static final LogitBias NONE = new LogitBias(new int[0], new float[0]);
    /** The largest bias either way, as OpenAI allows. */
    public static final double MAX_BIAS = 100;

    private final int[] tokens;
    private final float[] biases;

    private LogitBias(int[] tokens, float[] biases) {
        this.tokens = tokens;
        this.biases = biases;
    }

    /**
     * The bias of {@code biasByToken}; a negative id, a null entry or a bias outside [-100, 100] (or NaN) is refused
     * with an IllegalArgumentException naming it.
     */
    public static LogitBias of(Map<Integer, ? extends Number> biasByToken) {
        if (biasByToken == null || biasByToken.isEmpty()) {
            return NONE;
        }
        final int[] tokens = new int[biasByToken.size()];
        int n = 0;
        for (Map.Entry<Integer, ? extends Number> entry : biasByToken.entrySet()) {
            if (entry.getKey() == null || entry.getValue() == null) {
                throw new IllegalArgumentException("logit bias entries need a token id and a bias, got "
                        + entry.getKey() + " -> " + entry.getValue());
            }
            final int token = entry.getKey();
            final double bias = entry.getValue().doubleValue();
            if (token < 0) {
                throw new IllegalArgumentException("logit bias token id must be >= 0, got " + token);
            }
            if (!(bias >= -MAX_BIAS && bias <= MAX_BIAS)) {
                throw new IllegalArgumentException("logit bias of token " + token + " must be in [-100, 100], got "
                        + bias);
            }
            tokens[n++] = token;
        }
        Arrays.sort(tokens);
        final float[] biases = new float[n];
        for (int i = 0; i < n; i++) {
            biases[i] = biasByToken.get(tokens[i]).floatValue();
        }
        return new LogitBias(tokens, biases);
    }

    /** Entries: 0 for {@link #NONE}. */
    public int size() {
        return tokens.length;
    }

    public boolean isEmpty() {
        return tokens.length == 0;
    }

    /** Token id of entry {@code i}, ascending in {@code i}. */
    public int token(int i) {
        return tokens[i];
    }

    /** The bias of entry {@code i}, as the float added to the logit. */
    public float bias(int i) {
        return biases[i];
    }

    /** The largest token id, or -1 when empty. */
    public int maxToken() {
        return tokens.length == 0 ? -1 : tokens[tokens.length - 1];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LogitBias other && Arrays.equals(tokens, other.tokens)
                && Arrays.equals(biases, other.biases);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(tokens) + Arrays.hashCode(biases);
    }

    @Override
    public String toString() {
        final StringBuilder text = new StringBuilder("{");
        for (int i = 0; i < tokens.length; i++) {
            text.append(i == 0 ? "" : ", ").append(tokens[i]).append('=').append(biases[i]);
        }
        return text.append('}').toString();
    }
}
