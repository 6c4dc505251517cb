package io.splitserve.perf.kv;

import java.util.Arrays;
import java.util.function.LongConsumer;

/**
 * How the copy meters ({@link DeviceCopyMeter}, {@link PeerCopyMeter}) check and time their copies, written once:
 * a known pattern that must arrive unaltered before any rate is reported, and the median rate of timed copies, each
 * timed on the host from its launch until the copy returned (the meters' copies return once their stream finished),
 * after one unmeasured copy.
 */
final class CopyTiming {
    private static final int CHECK_INTS = 1 << 18;

    private CopyTiming() {
    }

    /** The check pattern for buffers of {@code maxBytes}: at most 1 MiB of ints no two neighbours alike. */
    static int[] checkPattern(long maxBytes) {
        final int[] pattern = new int[(int) Math.min(CHECK_INTS, maxBytes / Integer.BYTES)];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (int) (i * 2654435761L) ^ 0x5bd1e995;
        }
        return pattern;
    }

    /** @throws IllegalStateException when {@code arrived} is not {@code pattern}, naming the {@code kind} of copy. */
    static void requireIntact(String kind, int[] pattern, int[] arrived) {
        if (!Arrays.equals(pattern, arrived)) {
            throw new IllegalStateException("a " + kind + " copy of " + 4L * pattern.length + " bytes arrived altered");
        }
    }

    /**
     * Median rate, in GB/s (10^9 bytes per second), of {@code reps} calls of {@code copy} with {@code bytes}, after
     * one unmeasured.
     *
     * @throws IllegalArgumentException when {@code bytes} or {@code reps} is not positive or {@code bytes} exceeds the
     *                                  meter's buffers of {@code capacity} bytes.
     */
    static double medianGbps(String kind, long capacity, LongConsumer copy, long bytes, int reps) {
        if (bytes <= 0 || bytes > capacity || reps <= 0) {
            throw new IllegalArgumentException(kind + " copies of " + bytes + " bytes x " + reps
                    + " outside buffers of " + capacity + " bytes");
        }
        copy.accept(bytes);
        final long[] nanos = new long[reps];
        for (int i = 0; i < reps; i++) {
            final long start = System.nanoTime();
            copy.accept(bytes);
            nanos[i] = System.nanoTime() - start;
        }
        return bytes / Medians.of(nanos);
    }
}
