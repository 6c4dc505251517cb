package io.splitserve.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The inverse-frequency tables against their closed forms. */
class RopeFrequenciesTest {

    @Test
    void standardTableIsThetaToTheMinusTwoIOverD() {
        final float[] invFreq = RopeFrequencies.standard(64, 500000);
        assertEquals(32, invFreq.length);
        for (int i = 0; i < 32; i++) {
            assertEquals(Math.pow(500000, -2.0 * i / 64), invFreq[i], 1e-6 * invFreq[i]);
        }
    }

    @Test
    void llama3ScalingKeepsHighDividesLowAndBlendsTheBand() {
        final int headDim = 128;
        final double theta = 500000;
        final double factor = 8;
        final double low = 1;
        final double high = 4;
        final int original = 8192;
        final float[] plain = RopeFrequencies.standard(headDim, theta);
        final float[] scaled = RopeFrequencies.llama3(headDim, theta, factor, low, high, original);
        int kept = 0;
        int divided = 0;
        int blended = 0;
        for (int i = 0; i < plain.length; i++) {
            final double wavelength = 2 * Math.PI / plain[i];
            final double expected;
            if (wavelength < original / high) {
                expected = plain[i];
                kept++;
            } else if (wavelength > original / low) {
                expected = plain[i] / factor;
                divided++;
            } else {
                final double s = (original / wavelength - low) / (high - low);
                expected = (1 - s) * plain[i] / factor + s * plain[i];
                blended++;
            }
            assertEquals(expected, scaled[i], 1e-6 * expected, "frequency " + i);
        }
        // the Llama 3.1 parameters exercise all three regimes
        assertEquals(true, kept > 0 && divided > 0 && blended > 0, kept + "/" + divided + "/" + blended);
    }

    /**
     * Head dim 128, theta 1e6, factor 4, original 32768, beta 32/1. By hand: the correction dimension
     * {@code 128·ln(32768 / (2π·b)) / (2·ln 1e6)} is 23.596 for b = 32 and 39.651 for b = 1, truncated outward to
     * [23, 40]; so frequencies 0..23 stay, 40..63 are divided by 4, and 24..39 blend with weight (i − 23) / 17.
     */
    @Test
    void yarnKeepsFastDividesSlowAndRampsBetweenTheTruncatedRange() {
        final float[] plain = RopeFrequencies.standard(128, 1e6);
        final float[] scaled = RopeFrequencies.yarn(128, 1e6, 4, 32768, 32, 1, true);
        assertEquals(64, scaled.length);
        for (int i = 0; i <= 23; i++) {
            assertEquals(plain[i], scaled[i], 1e-6 * plain[i], "kept " + i);
        }
        for (int i = 40; i < 64; i++) {
            assertEquals(plain[i] / 4.0, scaled[i], 1e-6 * plain[i], "interpolated " + i);
        }
        final double r30 = 7.0 / 17;
        assertEquals(r30 * plain[30] / 4 + (1 - r30) * plain[30], scaled[30], 1e-6 * plain[30]);
        final double r24 = 1.0 / 17;
        assertEquals(r24 * plain[24] / 4 + (1 - r24) * plain[24], scaled[24], 1e-6 * plain[24]);
        final double r39 = 16.0 / 17;
        assertEquals(r39 * plain[39] / 4 + (1 - r39) * plain[39], scaled[39], 1e-6 * plain[39]);
    }

    /** Without truncation the range is [23.596, 39.651]: frequency 23 already blends, 39 is not yet fully divided. */
    @Test
    void yarnWithoutTruncationUsesTheFractionalRange() {
        final float[] plain = RopeFrequencies.standard(128, 1e6);
        final float[] scaled = RopeFrequencies.yarn(128, 1e6, 4, 32768, 32, 1, false);
        final double low = 23.5959476083381;
        final double high = 39.6508807104171;
        for (int i : new int[] {23, 24, 30, 39}) {
            final double r = Math.min(Math.max((i - low) / (high - low), 0), 1);
            assertEquals(r * plain[i] / 4 + (1 - r) * plain[i], scaled[i], 1e-6 * plain[i], "frequency " + i);
        }
        assertEquals(plain[23], scaled[23], 1e-6 * plain[23], "23 < low: kept");
        assertEquals(plain[40] / 4.0, scaled[40], 1e-6 * plain[40], "40 > high: divided");
    }

    @Test
    void yarnFactorOneIsThePlainTable() {
        final float[] plain = RopeFrequencies.standard(64, 10000);
        final float[] scaled = RopeFrequencies.yarn(64, 10000, 1, 4096, 32, 1, true);
        for (int i = 0; i < plain.length; i++) {
            assertEquals(plain[i], scaled[i], 1e-7 * plain[i]);
        }
    }

    @Test
    void rejectsOddHeadDimAndBadScaling() {
        assertEquals("RoPE head dimension must be positive and even, got 7",
                assertThrows(IllegalArgumentException.class, () -> RopeFrequencies.standard(7, 10000)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> RopeFrequencies.llama3(64, 10000, 8, 4, 1, 8192));
        assertThrows(IllegalArgumentException.class, () -> RopeFrequencies.yarn(64, 10000, 0.5, 4096, 32, 1, true));
        assertThrows(IllegalArgumentException.class, () -> RopeFrequencies.yarn(64, 10000, 4, 4096, 1, 32, true));
    }
}
