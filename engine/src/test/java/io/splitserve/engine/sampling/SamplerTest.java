package io.splitserve.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.model.SamplingParams;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The sampling rule on distributions whose kept set is known exactly: draw frequencies over many seeds against the
 * softmax over the kept set (a chi-square test at the 0.1% level, deterministic because the seeds are fixed), the
 * tie rules, greedy, reproducibility from (seed, counter), and the noise staying finite.
 */
class SamplerTest {
    /** Probabilities 0.4, 0.25, 0.15, 0.1, 0.06, 0.04 at temperature 1. */
    private static final double[] PROBABILITIES = {0.4, 0.25, 0.15, 0.1, 0.06, 0.04};
    private static final float[] LOGITS = logitsOf(PROBABILITIES);
    private static final int DRAWS = 40000;
    /** Chi-square quantiles at 1 - 0.001 for 1..5 degrees of freedom. */
    private static final double[] CHI_SQUARE_999 = {10.83, 13.82, 16.27, 18.47, 20.52};

    private static float[] logitsOf(double[] probabilities) {
        final float[] logits = new float[probabilities.length];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) Math.log(probabilities[i]);
        }
        return logits;
    }

    /** Draws once per seed 0..DRAWS-1 at counter 0. */
    private static int[] histogramOverSeeds(SamplingParams params) {
        final Sampler sampler = new Sampler(LOGITS.length);
        final int[] counts = new int[LOGITS.length];
        for (int seed = 0; seed < DRAWS; seed++) {
            final SamplingParams seeded = new SamplingParams(params.temperature(), params.topK(), params.topP(),
                    params.minP(), seed);
            counts[sampler.sample(LOGITS, 0, LOGITS.length, seeded, 0)]++;
        }
        return counts;
    }

    /**
     * The counts fall on the kept tokens only, with frequencies of {@code p_i^(1/T)} renormalised over them (chi-square
     * below its 0.1% quantile).
     */
    private static void assertFollowsSoftmaxOver(int[] counts, double temperature, int... kept) {
        final boolean[] isKept = new boolean[counts.length];
        double z = 0;
        for (int token : kept) {
            isKept[token] = true;
            z += Math.pow(PROBABILITIES[token], 1 / temperature);
        }
        double chiSquare = 0;
        for (int token = 0; token < counts.length; token++) {
            if (!isKept[token]) {
                assertEquals(0, counts[token], "token " + token + " is outside the kept set " + Arrays.toString(kept)
                        + " but was drawn (counts " + Arrays.toString(counts) + ")");
                continue;
            }
            final double expected = DRAWS * Math.pow(PROBABILITIES[token], 1 / temperature) / z;
            chiSquare += (counts[token] - expected) * (counts[token] - expected) / expected;
        }
        assertTrue(chiSquare < CHI_SQUARE_999[kept.length - 2], "chi-square " + chiSquare + " over "
                + (kept.length - 1) + " degrees of freedom (counts " + Arrays.toString(counts) + ")");
    }

    @Test
    void plainSamplingFollowsTheSoftmax() {
        assertFollowsSoftmaxOver(histogramOverSeeds(new SamplingParams(1, 0, 1, 0, 0)), 1, 0, 1, 2, 3, 4, 5);
    }

    @Test
    void temperatureReshapesTheSoftmax() {
        assertFollowsSoftmaxOver(histogramOverSeeds(new SamplingParams(0.5, 0, 1, 0, 0)), 0.5, 0, 1, 2, 3, 4, 5);
        assertFollowsSoftmaxOver(histogramOverSeeds(new SamplingParams(2, 0, 1, 0, 0)), 2, 0, 1, 2, 3, 4, 5);
    }

    @Test
    void topKKeepsTheKMostLikely() {
        assertFollowsSoftmaxOver(histogramOverSeeds(new SamplingParams(1, 3, 1, 0, 0)), 1, 0, 1, 2);
    }

    @Test
    void topPKeepsTheSmallestHighSetReachingPOfTheTopKMass() {
        // 0.4 + 0.25 = 0.65 < 0.7 <= 0.8 = 0.4 + 0.25 + 0.15
        assertFollowsSoftmaxOver(histogramOverSeeds(new SamplingParams(1, 0, 0.7, 0, 0)), 1, 0, 1, 2);
        // top-k 4 holds 0.9: p 0.7 of it is 0.63, which 0.4 + 0.25 reaches
        assertFollowsSoftmaxOver(histogramOverSeeds(new SamplingParams(1, 4, 0.7, 0, 0)), 1, 0, 1);
    }

    @Test
    void minPDropsTokensBelowAFractionOfTheBest() {
        // min-p 0.2 keeps probabilities >= 0.08
        assertFollowsSoftmaxOver(histogramOverSeeds(new SamplingParams(1, 0, 1, 0.2, 0)), 1, 0, 1, 2, 3);
        // at T = 0.5 the ratio to the best is squared: 0.25/0.4 -> 0.39, 0.15/0.4 -> 0.14; min-p 0.3 keeps two
        assertFollowsSoftmaxOver(histogramOverSeeds(new SamplingParams(0.5, 0, 1, 0.3, 0)), 0.5, 0, 1);
    }

    @Test
    void oneSeedsSuccessiveCountersFollowTheSoftmaxToo() {
        final Sampler sampler = new Sampler(LOGITS.length);
        final SamplingParams params = new SamplingParams(1, 0, 1, 0, 1234);
        final int[] counts = new int[LOGITS.length];
        for (int counter = 0; counter < DRAWS; counter++) {
            counts[sampler.sample(LOGITS, 0, LOGITS.length, params, counter)]++;
        }
        assertFollowsSoftmaxOver(counts, 1, 0, 1, 2, 3, 4, 5);
    }

    @Test
    void tiesAtATopKOrTopPBoundaryAreKeptTogether() {
        final float[] tied = {0f, 1f, 1f, 1f, -5f};
        final Sampler sampler = new Sampler(tied.length);
        final int[] topK = new int[tied.length];
        final int[] topP = new int[tied.length];
        for (int seed = 0; seed < 3000; seed++) {
            topK[sampler.sample(tied, 0, tied.length, new SamplingParams(1, 2, 1, 0, seed), 0)]++;
            topP[sampler.sample(tied, 0, tied.length, new SamplingParams(1, 0, 0.1, 0, seed), 0)]++;
        }
        for (int[] counts : new int[][] {topK, topP}) {
            assertEquals(0, counts[0] + counts[4], Arrays.toString(counts));
            for (int token = 1; token <= 3; token++) {
                assertTrue(counts[token] > 800, "every tied token is kept: " + Arrays.toString(counts));
            }
        }
    }

    /** The tokens of {@code logits} in the kept set under {@code params}, in id order. */
    private static int[] keptSet(float[] logits, SamplingParams params) {
        final int threshold = new Sampler(logits.length).keptThreshold(logits, 0, logits.length, params);
        return java.util.stream.IntStream.range(0, logits.length)
                .filter(i -> Sampler.orderedKey(logits[i]) >= threshold).toArray();
    }

    private static int[] range(int fromInclusive, int toExclusive) {
        return java.util.stream.IntStream.range(fromInclusive, toExclusive).toArray();
    }

    @Test
    void theCandidateFloorIsTwentyTemperaturesBelowTheTopLogit() {
        final float temperature = 0.7f;
        final float floor = 3f - Sampler.CANDIDATE_MARGIN * temperature;
        final float[] logits = {3f, floor, Math.nextDown(floor), -100f};
        assertArrayEquals(new int[] {0, 1}, keptSet(logits, new SamplingParams(temperature, 0, 1, 0, 0)),
                "a token exactly at the floor is a candidate, one ulp below is not");
        assertArrayEquals(new int[] {0, 1}, keptSet(logits, new SamplingParams(temperature, 3, 1, 0, 0)),
                "top-k cannot keep a token below the floor");
    }

    @Test
    void tokensBelowTheFloorAddNoMassToTheTopPTotal() {
        // token 0 at 0, token 1 at -1, then 100,000 tokens at -20.5 (just below the floor at T = 1): together they
        // weigh 1.25e-4, enough to push p = 0.99995 of the total past 1 + e^-1 if they counted
        final float[] logits = new float[100_002];
        Arrays.fill(logits, -20.5f);
        logits[0] = 0f;
        logits[1] = -1f;
        assertArrayEquals(new int[] {0, 1}, keptSet(logits, new SamplingParams(1, 0, 0.99995, 0, 0)));
        assertArrayEquals(new int[] {0, 1}, keptSet(logits, new SamplingParams(1, 50, 1, 0, 0)));
        // the same row at T = 1.1 puts them above the floor (-22): now they count, and p reaches into them
        assertEquals(logits.length, keptSet(logits, new SamplingParams(1.1, 0, 0.99995, 0, 0)).length);
    }

    @Test
    void aRowOfManyCandidatesFollowsTheSameRule() {
        // 5096 distinct candidates (0, -0.001, -0.002, ...), then 1000 tokens far below the floor
        final int candidates = 5096;
        final float[] logits = new float[candidates + 1000];
        Arrays.fill(logits, -30f);
        for (int i = 0; i < candidates; i++) {
            logits[i] = -0.001f * i;
        }
        assertArrayEquals(range(0, 4500), keptSet(logits, new SamplingParams(1, 4500, 1, 0, 0)));
        assertArrayEquals(range(0, candidates), keptSet(logits, new SamplingParams(1, candidates + 400, 1, 0, 0)),
                "top-k past the candidates keeps the candidates only");
        assertArrayEquals(range(0, candidates), keptSet(logits, new SamplingParams(1, 0, 1, 0, 0)));
        // top-p 0.5 keeps the shortest prefix (the logits fall with the id) holding half the candidates' mass
        double total = 0;
        for (int i = 0; i < candidates; i++) {
            total += Math.exp(logits[i]);
        }
        double mass = 0;
        int prefix = 0;
        while (mass < 0.5 * total) {
            mass += Math.exp(logits[prefix++]);
        }
        assertArrayEquals(range(0, prefix), keptSet(logits, new SamplingParams(1, 0, 0.5, 0, 0)));
        final Sampler sampler = new Sampler(logits.length);
        for (int seed = 0; seed < 200; seed++) {
            final int token = sampler.sample(logits, 0, logits.length, new SamplingParams(1, 0, 0.5, 0, seed), 0);
            assertTrue(token < prefix, "seed " + seed + " drew " + token + " outside the kept prefix " + prefix);
        }
    }

    @Test
    void greedyIsTheArgmaxWithTheLowestIdOnTies() {
        final float[] logits = {0.1f, 2f, 2f, -3f};
        final Sampler sampler = new Sampler(6);
        assertEquals(1, sampler.sample(logits, 0, 4, SamplingParams.greedy(), 0));
        assertEquals(1, sampler.sample(logits, 0, 4, new SamplingParams(5, 1, 1, 0, 9), 17), "top-k 1 is greedy");
        final float[] shifted = {9f, 9f, 0.1f, 2f, 1.9f, -3f};
        assertEquals(1, sampler.sample(shifted, 2, 4, SamplingParams.greedy(), 0), "row at an offset");
    }

    @Test
    void seedAndCounterReplayADrawAndEitherChangesIt() {
        final float[] logits = new float[50];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) Math.sin(i);
        }
        final int[] a = draws(logits, 99, 0);
        assertArrayEquals(a, draws(logits, 99, 0));
        assertFalse(Arrays.equals(a, draws(logits, 100, 0)), "another seed");
        assertFalse(Arrays.equals(a, draws(logits, 99, 1)), "the same seed one counter on");
        assertArrayEquals(Arrays.copyOfRange(a, 1, a.length), Arrays.copyOf(draws(logits, 99, 1), a.length - 1),
                "draw n + 1 of a stream is draw n of the stream started one counter later");
    }

    /** 100 successive draws of one stream, from counter {@code start}. */
    private static int[] draws(float[] logits, long seed, long start) {
        final SamplingParams params = new SamplingParams(1, 0, 1, 0, seed);
        final Sampler sampler = new Sampler(logits.length);
        final int[] out = new int[100];
        for (int i = 0; i < out.length; i++) {
            out[i] = sampler.sample(logits, 0, logits.length, params, start + i);
        }
        return out;
    }

    @Test
    void theHashIsSplitMix64() {
        for (long seed : new long[] {0, 1, -7, 0x123456789abcdefL}) {
            assertEquals(new SplittableRandom(seed).nextLong(), Sampler.mix64(seed + 0x9e3779b97f4a7c15L));
        }
    }

    @Test
    void exp2IsWithinTwoFloatUlpsOfTheTruePowerOverTheCandidateRange() {
        // weights below 2^-40 truncate to 0; every candidate lies above 2^-29 (20 temperatures below the top)
        for (float y = -40f; y <= 0f; y += 0.0009765625f * 0.37f) {
            final double exact = Math.pow(2, y);
            final double error = Math.abs(Sampler.exp2(y) - exact) / exact;
            assertTrue(error < 2.5e-7, "2^" + y + ": relative error " + error);
        }
        assertEquals(1f, Sampler.exp2(0f));
        assertEquals(1f, Sampler.exp2(Float.NaN), "NaN counts as 0");
        assertEquals(1f, Sampler.exp2(3f), "positive powers are clamped to 0");
        assertEquals(Math.scalb(1f, -64), Sampler.exp2(-1000f), 1e-26f, "clamped to 2^-64");
    }

    @Test
    void weightsAreExactIntegersTopTokenOneAndFloorPositive() {
        assertEquals(1L << 40, Sampler.weight(3.5f, 3.5f, 1 / 0.7f));
        final float temperature = 0.7f;
        final float floor = 3.5f - Sampler.CANDIDATE_MARGIN * temperature;
        final long atFloor = Sampler.weight(floor, 3.5f, 1 / temperature);
        assertTrue(atFloor > 2000 && atFloor < 2600, "e^-20 of 2^40 is about 2,274, got " + atFloor);
    }

    @Test
    void theDrawScalesAHashIntoTheKeptWeightWithoutOverflow() {
        final Random rnd = new Random(5);
        for (int i = 0; i < 10_000; i++) {
            final long a = rnd.nextLong();
            final long b = rnd.nextLong() >>> (1 + rnd.nextInt(40));
            final BigInteger exact = new BigInteger(Long.toUnsignedString(a)).multiply(BigInteger.valueOf(b))
                    .shiftRight(64);
            assertEquals(exact.longValueExact(), Sampler.unsignedMultiplyHigh(a, b), a + " * " + b);
            final long total = rnd.nextLong() >>> 6;
            final long scaledP = rnd.nextInt(1 << 24);
            final long target = BigInteger.valueOf(total).multiply(BigInteger.valueOf(scaledP)).shiftRight(24)
                    .longValueExact();
            assertEquals(Math.max(1, target), Sampler.topPTarget(total, scaledP), total + " * " + scaledP);
        }
    }

    @Test
    void aRowWithoutAFiniteMaximumIsRefused() {
        final float[] row = {Float.NEGATIVE_INFINITY, Float.NaN};
        assertThrows(IllegalArgumentException.class,
                () -> new Sampler(2).sample(row, 0, 2, new SamplingParams(1, 0, 1, 0, 0), 0));
    }

    @Test
    void invalidParametersAreRejectedWithTheirRange() {
        assertEquals("temperature must be a finite number >= 0, got -1.0",
                assertThrows(IllegalArgumentException.class, () -> new SamplingParams(-1, 0, 1, 0, 0)).getMessage());
        assertEquals("top-p must be in (0, 1], got 0.0",
                assertThrows(IllegalArgumentException.class, () -> new SamplingParams(1, 0, 0, 0, 0)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new SamplingParams(1, -1, 1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new SamplingParams(1, 0, 1, 1.5, 0));
        assertThrows(IllegalArgumentException.class, () -> new SamplingParams(Double.NaN, 0, 1, 0, 0));
    }
}
