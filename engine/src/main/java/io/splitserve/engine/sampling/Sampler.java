package io.splitserve.engine.sampling;

import io.splitserve.model.SamplingParams;
import io.splitserve.kernels.cpu.CpuOps;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Draws the next token from one row of logits under {@link SamplingParams}. One sampler serves every sequence of
 * an engine (it only owns scratch sized to the vocabulary); randomness comes from the caller's per-sequence
 * generator, so a sequence's draws depend only on its seed and its own logits, never on what else is batched.
 *
 * <p>Candidates are sorted by probability through packed {@code (probability bits, token)} longs: for non-negative
 * floats the bit pattern orders like the value, so a primitive sort does it without boxing.
 */
public final class Sampler {
    private final long[] keys;

    public Sampler(int vocabSize) {
        this.keys = new long[vocabSize];
    }

    /** Seeds a sequence's generator; the same seed replays the same draws. */
    public static SplittableRandom randomFor(SamplingParams params) {
        return new SplittableRandom(params.seed());
    }

    /**
     * The generator of a sequence that has already sampled {@code sampled} tokens elsewhere (another node sampled
     * its first token): every non-greedy draw takes exactly one number, so skipping as many continues the same
     * stream and the sequence samples what it would have sampled in one place.
     */
    public static SplittableRandom randomAfter(SamplingParams params, int sampled) {
        final SplittableRandom random = randomFor(params);
        if (!params.isGreedy()) {
            for (int i = 0; i < sampled; i++) {
                random.nextDouble();
            }
        }
        return random;
    }

    public int sample(float[] logits, int offset, int vocab, SamplingParams params, SplittableRandom random) {
        if (params.isGreedy()) {
            return CpuOps.argmax(logits, offset, vocab);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        final double invTemperature = 1.0 / params.temperature();
        int candidates = 0;
        for (int i = 0; i < vocab; i++) {
            final float p = (float) Math.exp((logits[offset + i] - max) * invTemperature);
            if (p > 0) {
                keys[candidates++] = ((long) Float.floatToRawIntBits(p) << 32) | i;
            }
        }
        Arrays.sort(keys, 0, candidates);
        // candidates now ascend by probability: the most likely is last
        int kept = params.topK() > 0 ? Math.min(params.topK(), candidates) : candidates;
        final int first = candidates - kept;
        double total = 0;
        for (int i = candidates - 1; i >= first; i--) {
            total += probability(keys[i]);
        }
        if (params.topP() < 1) {
            double cumulative = 0;
            int within = 0;
            for (int i = candidates - 1; i >= first; i--) {
                cumulative += probability(keys[i]);
                within++;
                if (cumulative >= params.topP() * total) {
                    break;
                }
            }
            kept = within;
        }
        if (params.minP() > 0) {
            final double threshold = params.minP() * probability(keys[candidates - 1]);
            int within = 0;
            while (within < kept && probability(keys[candidates - 1 - within]) >= threshold) {
                within++;
            }
            kept = within;
        }
        double keptTotal = 0;
        for (int i = 0; i < kept; i++) {
            keptTotal += probability(keys[candidates - 1 - i]);
        }
        double target = random.nextDouble() * keptTotal;
        for (int i = 0; i < kept - 1; i++) {
            final long key = keys[candidates - 1 - i];
            target -= probability(key);
            if (target < 0) {
                return token(key);
            }
        }
        return token(keys[candidates - kept]);
    }

    private static float probability(long key) {
        return Float.intBitsToFloat((int) (key >>> 32));
    }

    private static int token(long key) {
        return (int) key;
    }
}
