package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Host bf16 conversion: exact for representable values, round-to-nearest-even otherwise, NaN stays NaN. */
class Bf16Test {
    @Test
    void roundTripsRepresentableValuesExactly() {
        for (float f : new float[] {0f, -0f, 1f, -2.5f, 65536f, 1.0078125f, Float.POSITIVE_INFINITY}) {
            assertEquals(f, Bf16.toFloat(Bf16.fromFloat(f)));
        }
    }

    @Test
    void roundsToNearestEven() {
        assertEquals(1f, Bf16.toFloat(Bf16.fromFloat(1.00390625f)));          // halfway, even neighbour is 1.0
        assertEquals(1.015625f, Bf16.toFloat(Bf16.fromFloat(1.01171875f)));   // halfway, rounds up to even
        assertEquals(1.0078125f, Bf16.toFloat(Bf16.fromFloat(1.0060f)));      // nearer the upper neighbour
        assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(Float.NaN))));
    }
}
