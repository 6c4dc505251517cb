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

    @Test
    void rejectsOddHeadDimAndBadScaling() {
        assertEquals("RoPE head dimension must be positive and even, got 7",
                assertThrows(IllegalArgumentException.class, () -> RopeFrequencies.standard(7, 10000)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> RopeFrequencies.llama3(64, 10000, 8, 4, 1, 8192));
    }
}
