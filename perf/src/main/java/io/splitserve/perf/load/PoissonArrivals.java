package io.splitserve.perf.load;

import java.util.SplittableRandom;

/**
 * Open-loop arrival times: a Poisson process of the given rate, i.e. independent exponential gaps with mean
 * 1/rate, from a seeded source so a run's schedule is reproducible. The schedule never depends on how the system
 * answers, which is what lets latencies measured from these intended times expose queueing.
 */
public final class PoissonArrivals {
    private final double meanGapNs;
    private final SplittableRandom random;

    public PoissonArrivals(double ratePerSecond, long seed) {
        if (!(ratePerSecond > 0) || Double.isInfinite(ratePerSecond)) {
            throw new IllegalArgumentException("arrival rate must be a positive number of requests per second, got "
                    + ratePerSecond);
        }
        this.meanGapNs = 1e9 / ratePerSecond;
        this.random = new SplittableRandom(seed);
    }

    /** The gap to the next arrival in nanoseconds (at least 1). */
    public long nextGapNs() {
        return Math.max(1, Math.round(-Math.log(1.0 - random.nextDouble()) * meanGapNs));
    }
}
