package io.splitserve.perf.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PoissonArrivalsTest {
    @Test
    void sameSeedGivesTheSameScheduleAndAnotherSeedDoesNot() {
        final long[] a = OpenLoop.schedule(20, 7, 10_000_000_000L, 1000);
        assertArrayEquals(a, OpenLoop.schedule(20, 7, 10_000_000_000L, 1000));
        assertFalse(Arrays.equals(a, OpenLoop.schedule(20, 8, 10_000_000_000L, 1000)));
    }

    @Test
    void gapsHaveTheMeanAndSpreadOfAnExponential() {
        final double rate = 50;
        final PoissonArrivals arrivals = new PoissonArrivals(rate, 42);
        final int n = 20_000;
        double sum = 0;
        double sumSquares = 0;
        for (int i = 0; i < n; i++) {
            final double gap = arrivals.nextGapNs();
            sum += gap;
            sumSquares += gap * gap;
        }
        final double mean = sum / n;
        final double sd = Math.sqrt(sumSquares / n - mean * mean);
        final double expected = 1e9 / rate;
        // the sample mean's standard error is mean/sqrt(n) = 0.7%: 3% is over four standard errors
        assertEquals(expected, mean, 0.03 * expected);
        // an exponential's standard deviation equals its mean (coefficient of variation 1)
        assertEquals(1.0, sd / mean, 0.05);
    }

    @Test
    void arrivalCountOverAWindowMatchesTheRate() {
        // Poisson count over 100 s at 100/s: mean 10000, standard deviation 100; allow five
        final long[] schedule = OpenLoop.schedule(100, 3, 100_000_000_000L, Integer.MAX_VALUE);
        assertEquals(10_000, schedule.length, 500);
        for (int i = 1; i < schedule.length; i++) {
            assertTrue(schedule[i] > schedule[i - 1]);
        }
        assertTrue(schedule[schedule.length - 1] <= 100_000_000_000L);
    }

    @Test
    void scheduleStopsAtTheRequestCap() {
        assertEquals(25, OpenLoop.schedule(1000, 1, 60_000_000_000L, 25).length);
    }

    @Test
    void rejectsRatesThatAreNotPositive() {
        assertThrows(IllegalArgumentException.class, () -> new PoissonArrivals(0, 1));
        assertThrows(IllegalArgumentException.class, () -> new PoissonArrivals(Double.NaN, 1));
        assertThrows(IllegalArgumentException.class, () -> new OpenLoop(-2, 1));
    }
}
