package io.splitserve.perf.load;

import java.util.SplittableRandom;

/**
 * A token-length distribution: log-normal around a median (request lengths in real traces are skewed, with a long
 * right tail), clamped to [min, max]; a zero spread gives the median every time. Sampling uses the caller's seeded
 * random source, so a workload is reproducible from its seed alone.
 */
public record LengthDistribution(int median, double sigma, int min, int max) {
    public LengthDistribution {
        if (min <= 0 || min > median || median > max || sigma < 0) {
            throw new IllegalArgumentException("length distribution needs 0 < min <= median <= max and sigma >= 0, got "
                    + "median " + median + " sigma " + sigma + " in [" + min + ", " + max + "]");
        }
    }

    public static LengthDistribution fixed(int length) {
        return new LengthDistribution(length, 0, length, length);
    }

    public int sample(SplittableRandom random) {
        if (sigma == 0) {
            return median;
        }
        final double value = median * Math.exp(sigma * gaussian(random));
        return (int) Math.max(min, Math.min(max, Math.round(value)));
    }

    /** The same shape with every length multiplied by {@code factor} (at least 1 token). */
    public LengthDistribution scaled(double factor) {
        return new LengthDistribution(scale(median, factor), sigma, scale(min, factor), scale(max, factor));
    }

    private static int scale(int length, double factor) {
        return (int) Math.max(1, Math.round(length * factor));
    }

    /** Box-Muller on the given source (SplittableRandom has no nextGaussian on Java 17). */
    private static double gaussian(SplittableRandom random) {
        final double u1 = 1.0 - random.nextDouble();
        final double u2 = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
