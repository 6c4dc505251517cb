package io.splitserve.engine.sampling;

import io.splitserve.kernels.cpu.CpuOps;
import io.splitserve.model.SamplingParams;
import java.util.Arrays;

/**
 * Picks the next token from one row of logits under {@link SamplingParams}, by exactly the rule of the GPU kernel
 * {@code sampling.cu}, so a sequence may be sampled on either side and continue on the other. One sampler serves
 * every sequence of an engine (it only owns scratch sized to the vocabulary); a draw depends only on the row, the
 * parameters and the sequence's counter, never on what else is batched.
 *
 * <p>The rule. Greedy parameters ({@link SamplingParams#isGreedy()}) take the argmax, lowest id on ties. Otherwise,
 * with temperature, top-p and min-p rounded to float as the kernel receives them, only candidates take part: tokens
 * whose logit reaches the floor {@code max - CANDIDATE_MARGIN * T} (in float, the product rounded first), that is a
 * probability at least {@code e^-20} of the top token's; the others have probability 0. The floor lets the kernel
 * work on the few candidates in shared memory instead of re-reading the whole row (it falls back to the row, under
 * the same rule, when more than {@code SamplingKernel.CANDIDATE_CAPACITY} pass), and it costs the rule nothing a draw
 * could see: the Gumbel noise below lies in [-2.82, 16.64], so a token more than 19.46 below the top one (in
 * {@code logit / T}) never beats it; the floor only leaves out of the top-p total a mass of at most
 * {@code vocab * e^-20} of the top token's. A candidate is kept when its logit reaches the largest of three
 * thresholds: top-k (the k-th largest logit, ties kept; off for {@code k <= 0} or
 * {@code k >= vocab}), top-p (the smallest set of highest logits, ties kept together, whose softmax mass reaches
 * {@code p} of the top-k set's; off for {@code p >= 1}) and min-p (logit at least {@code max + T ln(minP)}, that is
 * a probability at least {@code minP} times the top token's; off for {@code minP <= 0}). Logits compare by their
 * order-preserving integer image ({@link #orderedKey}), as the kernel's bisection does. Among the kept tokens the one
 * with the largest {@code (logit - max) / T + g} wins (lowest id on ties), where {@code g = -ln(-ln u)} is Gumbel noise
 * and {@code u} is a hash of (seed, counter, token) ({@link #uniform}): the Gumbel-max draw from the kept set's
 * softmax. The counter is the number of tokens the sequence sampled before this one, so the draws of a sequence
 * form one stream wherever its tokens are sampled (a prefill node's first token at counter {@code sampledBefore},
 * the decode node's next one at the following value).
 *
 * <p>Where the two sides may still part: only when the logits differ (a GPU forward pass computes in bf16, so the same
 * sequence on the CPU backend has other logits), or at a near-tie that float rounding decides differently: the kernel
 * sums the top-p masses in float in its own order and this class in double, so a top-p boundary within rounding of
 * {@code p} may fall on either side (whether the kernel takes its candidates or the whole row changes only its
 * summation order); and the GPU's {@code logf} may differ from {@link Math#log} in the last bit, which matters only
 * when two kept tokens' Gumbel keys (or a logit and the min-p threshold) agree to the last bit. Everything else (the
 * hash, the float arithmetic of the keys, the floor, the thresholds of top-k and min-p, the tie breaks) is the same bit
 * for bit.
 */
public final class Sampler {
    /** The floor's distance below the top logit, in units of the temperature; the kernel's {@code SAMPLE_MARGIN}. */
    static final float CANDIDATE_MARGIN = 20f;
    private static final long GOLDEN = 0x9e3779b97f4a7c15L;
    private static final long TOKEN_STRIDE = 0x632be59bd9b4e019L;
    private final long[] sorted;

    public Sampler(int vocabSize) {
        this.sorted = new long[vocabSize];
    }

    /**
     * The token for the row {@code logits[offset, offset + vocab)}; {@code counter} is the number of tokens the
     * sequence sampled before this one.
     */
    public int sample(float[] logits, int offset, int vocab, SamplingParams params, long counter) {
        if (vocab <= 0 || vocab > sorted.length) {
            throw new IllegalArgumentException("vocab " + vocab + " is outside this sampler's 1.." + sorted.length);
        }
        if (params.isGreedy()) {
            return CpuOps.argmax(logits, offset, vocab);
        }
        final float temperature = (float) params.temperature();
        final float invTemperature = 1f / temperature;
        final int best = argmaxOrRefuse(logits, offset, vocab);
        final float max = logits[offset + best];
        final int threshold = threshold(logits, offset, vocab, params, temperature, invTemperature, max);

        final long seed = params.seed();
        float bestKey = Float.NEGATIVE_INFINITY;
        int chosen = -1;
        for (int i = 0; i < vocab; i++) {
            final float v = logits[offset + i];
            if (orderedKey(v) >= threshold) {
                final float key = (v - max) * invTemperature + gumbel(uniform(seed, counter, i));
                if (key > bestKey) {
                    bestKey = key;
                    chosen = i;
                }
            }
        }
        return chosen < 0 ? best : chosen;
    }

    /**
     * The {@link #orderedKey} a token's logit must reach to be kept under non-greedy {@code params}: a token is in
     * the kept set exactly when {@code orderedKey(logit) >= keptThreshold(...)}.
     */
    int keptThreshold(float[] logits, int offset, int vocab, SamplingParams params) {
        if (vocab <= 0 || vocab > sorted.length) {
            throw new IllegalArgumentException("vocab " + vocab + " is outside this sampler's 1.." + sorted.length);
        }
        final float temperature = (float) params.temperature();
        final float max = logits[offset + argmaxOrRefuse(logits, offset, vocab)];
        return threshold(logits, offset, vocab, params, temperature, 1f / temperature, max);
    }

    /** The first index of the largest logit; a row without a finite maximum (all NaN or -inf) is refused. */
    private static int argmaxOrRefuse(float[] logits, int offset, int vocab) {
        float max = Float.NEGATIVE_INFINITY;
        int best = -1;
        for (int i = 0; i < vocab; i++) {
            final float v = logits[offset + i];
            if (v > max) {
                max = v;
                best = i;
            }
        }
        if (best < 0) {
            throw new IllegalArgumentException("a row of logits with no finite maximum cannot be sampled");
        }
        return best;
    }

    /**
     * The ordered key a kept token's logit reaches: the largest of the candidate floor and the top-k, top-p and
     * min-p thresholds.
     */
    private int threshold(float[] logits, int offset, int vocab, SamplingParams params, float temperature,
                          float invTemperature, float max) {
        final int k = params.topK();
        final float topP = (float) params.topP();
        final float minP = (float) params.minP();
        int threshold = orderedKey(max - CANDIDATE_MARGIN * temperature);
        if ((k > 0 && k < vocab) || topP < 1f) {
            for (int i = 0; i < vocab; i++) {
                sorted[i] = ((long) orderedKey(logits[offset + i]) << 32) | i;
            }
            Arrays.sort(sorted, 0, vocab); // ascending: the highest logit is last
            if (k > 0 && k < vocab) {
                threshold = Math.max(threshold, key(sorted[vocab - k]));
            }
            if (topP < 1f) {
                double total = 0;
                for (int r = vocab - 1; r >= 0 && key(sorted[r]) >= threshold; r--) {
                    total += weight(logits[offset + token(sorted[r])], max, invTemperature);
                }
                // the first logit, from the top, at which the mass reaches the target: tokens tied with it are
                // kept too, since the threshold is its key
                final double target = topP * total;
                double mass = 0;
                for (int r = vocab - 1; r >= 0; r--) {
                    mass += weight(logits[offset + token(sorted[r])], max, invTemperature);
                    if (mass >= target) {
                        threshold = Math.max(threshold, key(sorted[r]));
                        break;
                    }
                }
            }
        }
        if (minP > 0f) {
            threshold = Math.max(threshold, orderedKey(max + temperature * (float) Math.log(minP)));
        }
        return threshold;
    }

    private static double weight(float logit, float max, float invTemperature) {
        return Math.exp((logit - max) * invTemperature);
    }

    /**
     * A signed int that orders like the float (with -0 below +0, as the kernel's unsigned image orders it): the
     * kernel's {@code ordered_key} with its top bit flipped.
     */
    static int orderedKey(float value) {
        final int bits = Float.floatToRawIntBits(value);
        return bits ^ ((bits >> 31) & 0x7fffffff);
    }

    /** Noise in (0, 1) for token {@code token} of draw {@code counter} of the stream {@code seed}; the kernel's hash. */
    static float uniform(long seed, long counter, int token) {
        return unitInterval(mix64(seed + GOLDEN * (mix64(counter + TOKEN_STRIDE * (token + 1L)) + 1L)));
    }

    /**
     * The top 23 bits of a hash as a float strictly inside (0, 1): {@code (bits + 0.5) / 2^23} is exact in float, so
     * no hash rounds up to 1 (whose Gumbel noise would be infinite and win the draw whatever the token's probability).
     */
    static float unitInterval(long hash) {
        return ((float) (hash >>> 41) + 0.5f) * (1f / 8388608f);
    }

    static float gumbel(float uniform) {
        return -(float) Math.log(-(float) Math.log(uniform));
    }

    /** SplitMix64's finaliser. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private static int key(long packed) {
        return (int) (packed >> 32);
    }

    private static int token(long packed) {
        return (int) packed;
    }
}
