package io.splitserve.perf.kv;

import java.util.Arrays;

/**
 * The median the KV benchmarks report of their repetitions, computed one way for all: of an odd count the middle
 * value, of an even count the mean of the two middle ones. The values passed in are left as they were.
 */
final class Medians {
    private static final double NANOS_PER_MS = 1e6;

    private Medians() {
    }

    /** The median of {@code values}, which must not be empty. */
    static double of(long[] values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("no values to take the median of");
        }
        final long[] sorted = values.clone();
        Arrays.sort(sorted);
        final int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
    }

    /** The median of {@code nanos}, in milliseconds. */
    static double millis(long[] nanos) {
        return of(nanos) / NANOS_PER_MS;
    }
}
