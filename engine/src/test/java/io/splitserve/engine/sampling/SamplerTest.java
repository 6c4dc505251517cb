package io.splitserve.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.model.SamplingParams;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Each filter on distributions whose surviving set is known exactly, plus frequencies and reproducibility. */
class SamplerTest {
    /** Probabilities 0.5, 0.3, 0.15, 0.05 at temperature 1. */
    private static final float[] LOGITS = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15),
            (float) Math.log(0.05)};
    private static final int DRAWS = 20000;

    private static int[] histogram(float[] logits, SamplingParams params) {
        final Sampler sampler = new Sampler(logits.length);
        final SplittableRandom random = Sampler.randomFor(params);
        final int[] counts = new int[logits.length];
        for (int i = 0; i < DRAWS; i++) {
            counts[sampler.sample(logits, 0, logits.length, params, random)]++;
        }
        return counts;
    }

    private static void assertFrequency(double expected, int count) {
        assertEquals(expected, (double) count / DRAWS, 0.012, "frequency");
    }

    @Test
    void temperatureZeroAndTopKOneAreArgmax() {
        final float[] logits = {0.1f, 2f, 1.9f, -3f};
        final Sampler sampler = new Sampler(4);
        final SplittableRandom random = new SplittableRandom(1);
        assertEquals(1, sampler.sample(logits, 0, 4, SamplingParams.greedy(), random));
        assertEquals(1, sampler.sample(logits, 0, 4, new SamplingParams(5, 1, 1, 0, 9), random));
        final float[] shifted = {9f, 9f, 0.1f, 2f, 1.9f, -3f};
        assertEquals(1, sampler.sample(shifted, 2, 4, SamplingParams.greedy(), random), "row at an offset");
    }

    @Test
    void plainSamplingFollowsTheSoftmax() {
        final int[] counts = histogram(LOGITS, new SamplingParams(1, 0, 1, 0, 42));
        assertFrequency(0.5, counts[0]);
        assertFrequency(0.3, counts[1]);
        assertFrequency(0.15, counts[2]);
        assertFrequency(0.05, counts[3]);
    }

    @Test
    void temperatureSharpensTheDistribution() {
        // at T = 0.5 probabilities go as p², renormalized: 0.25, 0.09, 0.0225, 0.0025 over 0.365
        final int[] counts = histogram(LOGITS, new SamplingParams(0.5, 0, 1, 0, 7));
        assertFrequency(0.25 / 0.365, counts[0]);
        assertFrequency(0.09 / 0.365, counts[1]);
        assertFrequency(0.0225 / 0.365, counts[2]);
    }

    @Test
    void topKKeepsTheKMostLikely() {
        final int[] counts = histogram(LOGITS, new SamplingParams(1, 2, 1, 0, 3));
        assertEquals(0, counts[2] + counts[3]);
        assertFrequency(0.5 / 0.8, counts[0]);
        assertFrequency(0.3 / 0.8, counts[1]);
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        final int[] two = histogram(LOGITS, new SamplingParams(1, 0, 0.7, 0, 5));
        assertEquals(0, two[2] + two[3], "0.5 + 0.3 reaches 0.7");
        assertFrequency(0.5 / 0.8, two[0]);
        final int[] three = histogram(LOGITS, new SamplingParams(1, 0, 0.85, 0, 5));
        assertTrue(three[2] > 0);
        assertEquals(0, three[3], "0.5 + 0.3 + 0.15 reaches 0.85");
    }

    @Test
    void topPAppliesAfterTopK() {
        // top-k 3 renormalizes to 0.526, 0.316, 0.158: top-p 0.8 then needs the first two only
        final int[] counts = histogram(LOGITS, new SamplingParams(1, 3, 0.8, 0, 11));
        assertEquals(0, counts[2] + counts[3]);
    }

    @Test
    void minPDropsTokensBelowAFractionOfTheBest() {
        final int[] two = histogram(LOGITS, new SamplingParams(1, 0, 1, 0.5, 13));
        assertEquals(0, two[2] + two[3], "threshold 0.25");
        final int[] three = histogram(LOGITS, new SamplingParams(1, 0, 1, 0.2, 13));
        assertTrue(three[2] > 0);
        assertEquals(0, three[3], "threshold 0.1");
    }

    @Test
    void sameSeedReplaysDifferentSeedDiffers() {
        final float[] logits = new float[50];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) Math.sin(i);
        }
        final int[] a = draws(logits, 99);
        assertArrayEquals(a, draws(logits, 99));
        assertFalse(Arrays.equals(a, draws(logits, 100)));
    }

    private static int[] draws(float[] logits, long seed) {
        final SamplingParams params = new SamplingParams(1, 0, 1, 0, seed);
        final Sampler sampler = new Sampler(logits.length);
        final SplittableRandom random = Sampler.randomFor(params);
        final int[] out = new int[100];
        for (int i = 0; i < out.length; i++) {
            out[i] = sampler.sample(logits, 0, logits.length, params, random);
        }
        return out;
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
