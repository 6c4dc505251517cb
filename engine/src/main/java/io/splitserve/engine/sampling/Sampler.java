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
 * whose logit lies between the floor {@code max - CANDIDATE_MARGIN * T} (in float, the product rounded first) and the
 * maximum, that is a probability at least {@code e^-20} of the top token's (NaN is never a candidate). Logits compare
 * by their order-preserving integer image ({@link #orderedKey}). Each candidate weighs the integer
 * {@link #weight}: {@code 2^40 * 2^((logit - max) / T * log2 e)} truncated, with the power evaluated by a fixed
 * sequence of rounded float operations ({@link #exp2}), so every sum of weights is an exact integer whatever order it
 * is added in. A candidate is kept when its key reaches the largest of: the floor; top-k's threshold (the k-th largest
 * key, ties kept; off for {@code k <= 0} or {@code k >=} the candidates); top-p's (the largest key {@code t} such that
 * the candidates with key {@code >= t} weigh at least {@code floor(W * floor(p * 2^24) / 2^24)} (at least 1), where
 * {@code W} is the weight of the top-k set; off for {@code p >= 1}) and min-p's (logit at least {@code max + T ln(minP)},
 * a probability at least {@code minP} times the top token's; off for {@code minP <= 0}). The token is then drawn by
 * inverse CDF: with {@code K} the kept weight and {@code r} the high 64 bits of {@code hash(seed, counter) * K}, the
 * first token in id order whose running kept weight exceeds {@code r}, so token {@code i} is drawn with probability
 * {@code weight_i / K}. The counter is the number of tokens the sequence sampled before this one, so the draws of a
 * sequence form one stream wherever its tokens are sampled (a prefill node's first token at counter
 * {@code sampledBefore}, the decode node's next one at the following value).
 *
 * <p>Before the rule, a row whose parameters carry a logit bias or penalties is processed by {@link LogitProcessor}
 * (into scratch: the caller's logits stay raw); greedy rows too take the argmax of the processed row. Log-probabilities
 * ({@link #logprobs}) are taken from the raw row, in double precision: the reference the GPU's float
 * {@code logprobs.cu} is held to within {@link #LOGPROB_TOLERANCE}.
 *
 * <p>Where the two sides may still part: only when the logits differ (a GPU forward pass computes in bf16, so the same
 * sequence on the CPU backend has other logits), or through min-p's threshold, which uses the GPU's {@code logf} and
 * {@link Math#log} here; they may differ in the last bit, which matters only when a logit equals the threshold to the
 * last bit. The floor, the keys, the weights, the top-k and top-p thresholds and the draw are the same integers.
 */
public final class Sampler {
    /** The floor's distance below the top logit, in units of the temperature; the kernel's {@code SAMPLE_MARGIN}. */
    static final float CANDIDATE_MARGIN = 20f;
    /** 2^40: the weight of a token as likely as the top one. */
    static final float WEIGHT_ONE = 0x1p40f;
    private static final float LOG2_E = 0x1.715476p+0f;
    private static final long GOLDEN = 0x9e3779b97f4a7c15L;
    /**
     * The most the GPU's log-probabilities (float log-sum-exp, summed in another order) may differ from
     * {@link #logprobs}' (double), absolutely, for rows of raw logits within a few hundred of each other.
     */
    public static final float LOGPROB_TOLERANCE = 1e-4f;
    private final long[] sorted;
    private final float[] processed;
    private final long[] top = new long[SamplingParams.MAX_LOGPROBS];

    public Sampler(int vocabSize) {
        this.sorted = new long[vocabSize];
        this.processed = new float[vocabSize];
    }

    /**
     * As {@link #sample(float[], int, int, SamplingParams, long)}, first applying the row's logit bias and penalties
     * ({@link LogitProcessor}) to a copy of the row; {@code history} is the sequence's, required when a penalty is on.
     * The caller's logits are left as they were.
     */
    public int sample(float[] logits, int offset, int vocab, SamplingParams params, long counter,
                      TokenHistory history) {
        if (!params.processesLogits()) {
            return pick(logits, offset, vocab, params, counter);
        }
        checkVocab(vocab);
        params.checkVocabulary(vocab);
        System.arraycopy(logits, offset, processed, 0, vocab);
        LogitProcessor.apply(processed, 0, params, history);
        return pick(processed, 0, vocab, params, counter);
    }

    /**
     * Fills {@code out} with the log-probability of {@code chosen} and the {@code n} most likely tokens of the raw row
     * {@code logits[offset, offset + vocab)} (most likely first, lower id first among equal logits), computed as
     * {@code (x - max) - ln(sum(exp(x_i - max)))} in double and rounded to float.
     */
    public void logprobs(float[] logits, int offset, int vocab, int chosen, int n, TokenLogprobs out) {
        checkVocab(vocab);
        if (chosen < 0 || chosen >= vocab) {
            throw new IllegalArgumentException("chosen token " + chosen + " is outside the vocabulary of " + vocab);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp((double) logits[offset + i] - max);
        }
        final double logSum = Math.log(sum);
        out.set(chosen, (float) ((double) logits[offset + chosen] - max - logSum), Math.min(n, vocab));
        int found = 0;
        for (int i = 0; i < vocab && n > 0; i++) {
            final long key = topKey(logits[offset + i], i);
            if (found < n || key > top[found - 1]) {
                int at = found < n ? found++ : n - 1;
                while (at > 0 && top[at - 1] < key) {
                    top[at] = top[at - 1];
                    at--;
                }
                top[at] = key;
            }
        }
        for (int r = 0; r < found; r++) {
            final int token = ~(int) top[r];
            out.setTop(r, token, (float) ((double) logits[offset + token] - max - logSum));
        }
    }

    /** Orders (logit, id) pairs as top-N lists them: larger logit first, then lower id; {@code logprobs.cu}'s key. */
    static long topKey(float logit, int token) {
        return ((long) orderedKey(logit) << 32) | (~token & 0xffffffffL);
    }

    /**
     * The token for the row {@code logits[offset, offset + vocab)}; {@code counter} is the number of tokens the
     * sequence sampled before this one. A logit bias in {@code params} is applied (to a copy); penalties need the
     * history, so such parameters take {@link #sample(float[], int, int, SamplingParams, long, TokenHistory)}.
     */
    public int sample(float[] logits, int offset, int vocab, SamplingParams params, long counter) {
        return sample(logits, offset, vocab, params, counter, null);
    }

    /** The rule on the row as it is (already processed, or with nothing to process). */
    private int pick(float[] logits, int offset, int vocab, SamplingParams params, long counter) {
        checkVocab(vocab);
        if (params.isGreedy()) {
            return CpuOps.argmax(logits, offset, vocab);
        }
        final Row row = new Row(logits, offset, vocab, params);
        final int threshold = threshold(row, params);
        long kept = 0;
        for (int i = 0; i < vocab; i++) {
            kept += row.keptWeight(i, threshold);
        }
        final long r = unsignedMultiplyHigh(drawHash(params.seed(), counter), kept);
        long running = 0;
        for (int i = 0; i < vocab; i++) {
            running += row.keptWeight(i, threshold);
            if (Long.compareUnsigned(running, r) > 0) {
                return i;
            }
        }
        return row.best; // unreachable: the top token is always kept, so the running weight ends at kept > r
    }

    /**
     * The {@link #orderedKey} a token's logit must reach to be kept under non-greedy {@code params}: a token is in
     * the kept set exactly when it is a candidate and {@code orderedKey(logit) >= keptThreshold(...)}.
     */
    int keptThreshold(float[] logits, int offset, int vocab, SamplingParams params) {
        checkVocab(vocab);
        return threshold(new Row(logits, offset, vocab, params), params);
    }

    private void checkVocab(int vocab) {
        if (vocab <= 0 || vocab > sorted.length) {
            throw new IllegalArgumentException("vocab " + vocab + " is outside this sampler's 1.." + sorted.length);
        }
    }

    /** One row under one temperature: its maximum, candidate range and weights. */
    private static final class Row {
        final float[] logits;
        final int offset, vocab, best;
        final float max, temperature, invTemperature;
        final int floorKey, maxKey;

        Row(float[] logits, int offset, int vocab, SamplingParams params) {
            this.logits = logits;
            this.offset = offset;
            this.vocab = vocab;
            this.best = argmaxOrRefuse(logits, offset, vocab);
            this.max = logits[offset + best];
            this.temperature = (float) params.temperature();
            this.invTemperature = 1f / temperature;
            this.floorKey = orderedKey(max - CANDIDATE_MARGIN * temperature);
            this.maxKey = orderedKey(max);
        }

        float logit(int i) {
            return logits[offset + i];
        }

        boolean candidate(int key) {
            return key >= floorKey && key <= maxKey;
        }

        /** Token {@code i}'s weight if it is a candidate with key {@code >= threshold}, else 0. */
        long keptWeight(int i, int threshold) {
            final float v = logit(i);
            final int key = orderedKey(v);
            return key >= threshold && candidate(key) ? weight(v, max, invTemperature) : 0;
        }
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

    /** The key a kept token's logit reaches: the largest of the floor and the top-k, top-p and min-p thresholds. */
    private int threshold(Row row, SamplingParams params) {
        final int k = params.topK();
        final float topP = (float) params.topP();
        final float minP = (float) params.minP();
        int threshold = row.floorKey;
        int candidates = 0;
        for (int i = 0; i < row.vocab; i++) {
            final int key = orderedKey(row.logit(i));
            if (row.candidate(key)) {
                sorted[candidates++] = ((long) key << 32) | i;
            }
        }
        Arrays.sort(sorted, 0, candidates); // ascending: the highest key is last
        long keptWeight = 0;
        for (int r = 0; r < candidates; r++) {
            keptWeight += weightOf(row, sorted[r]);
        }
        if (k > 0 && k < candidates) {
            threshold = key(sorted[candidates - k]);
            keptWeight = 0;
            for (int r = candidates - 1; r >= 0 && key(sorted[r]) >= threshold; r--) {
                keptWeight += weightOf(row, sorted[r]);
            }
        }
        if (topP < 1f) {
            // the first key, from the top, at which the weight reaches the target: tokens tied with it are kept
            // too, since the threshold is its key
            final long target = topPTarget(keptWeight, (long) (topP * 0x1p24f));
            long mass = 0;
            for (int r = candidates - 1; r >= 0; r--) {
                mass += weightOf(row, sorted[r]);
                if (mass >= target) {
                    threshold = Math.max(threshold, key(sorted[r]));
                    break;
                }
            }
        }
        if (minP > 0f) {
            threshold = Math.max(threshold, orderedKey(row.max + row.temperature * (float) Math.log(minP)));
        }
        return threshold;
    }

    private static long weightOf(Row row, long packed) {
        return weight(row.logit(token(packed)), row.max, row.invTemperature);
    }

    /** {@code floor(total * scaledP / 2^24)}, at least 1, without overflow for {@code total < 2^58}. */
    static long topPTarget(long total, long scaledP) {
        final long target = (total >>> 24) * scaledP + (((total & 0xffffffL) * scaledP) >>> 24);
        return Math.max(1, target);
    }

    /** A candidate's weight: {@code 2^40} for the top token, at least about 2,200 for any candidate. */
    static long weight(float logit, float max, float invTemperature) {
        return (long) (exp2((logit - max) * invTemperature * LOG2_E) * WEIGHT_ONE);
    }

    /**
     * {@code 2^y} for {@code y <= 0} (clamped to [-64, 0]; NaN counts as 0) as the kernel evaluates it, operation for
     * operation: {@code 2^n * poly(f)} with {@code n = rint(y)}, {@code f = y - n} and the degree-7 Taylor polynomial
     * of {@code 2^f} by Horner's rule, each step rounded to float.
     */
    static float exp2(float y) {
        if (!(y < 0f)) {
            y = 0f;
        }
        if (y < -64f) {
            y = -64f;
        }
        final float n = (float) Math.rint(y);
        final float f = y - n;
        float p = 0x1.ffcbfcp-17f;
        p = p * f + 0x1.430912p-13f;
        p = p * f + 0x1.5d87fep-10f;
        p = p * f + 0x1.3b2ab6p-7f;
        p = p * f + 0x1.c6b08ep-5f;
        p = p * f + 0x1.ebfbe0p-3f;
        p = p * f + 0x1.62e430p-1f;
        p = p * f + 1f;
        return Math.scalb(p, (int) n);
    }

    /**
     * A signed int that orders like the float (with -0 below +0, as the kernel's unsigned image orders it): the
     * kernel's {@code ordered_key} with its top bit flipped.
     */
    static int orderedKey(float value) {
        final int bits = Float.floatToRawIntBits(value);
        return bits ^ ((bits >> 31) & 0x7fffffff);
    }

    /** 64 random bits for draw {@code counter} of the stream {@code seed}; the kernel's {@code draw_hash}. */
    static long drawHash(long seed, long counter) {
        return mix64(seed + GOLDEN * (mix64(counter) + 1L));
    }

    /** The high 64 bits of the unsigned product {@code a * b} for {@code b >= 0}. */
    static long unsignedMultiplyHigh(long a, long b) {
        return Math.multiplyHigh(a, b) + ((a >> 63) & b);
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
