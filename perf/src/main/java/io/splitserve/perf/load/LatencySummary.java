package io.splitserve.perf.load;

import org.HdrHistogram.Histogram;

/**
 * The percentiles a report shows for one latency histogram recorded in nanoseconds, converted to milliseconds:
 * P50, P90, P99, P99.9 and max, with the sample count. An empty histogram gives zero count and NaN values.
 */
public record LatencySummary(long count, double p50Ms, double p90Ms, double p99Ms, double p999Ms, double maxMs) {
    public static LatencySummary of(Histogram h) {
        if (h.getTotalCount() == 0) {
            return new LatencySummary(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        return new LatencySummary(h.getTotalCount(), ms(h.getValueAtPercentile(50)), ms(h.getValueAtPercentile(90)),
                ms(h.getValueAtPercentile(99)), ms(h.getValueAtPercentile(99.9)), ms(h.getMaxValue()));
    }

    private static double ms(long ns) {
        return ns / 1e6;
    }
}
