package io.splitserve.perf.load;

import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * The measurements of one load run: request and token counts, errors by kind, latency histograms in nanoseconds,
 * and per-second timelines. Rates are over {@code elapsedSeconds}, from the run's start to its last request end.
 * Goodput counts requests that met the SLO; SLO attainment is that count over every request sent, so errors and
 * unfinished requests lower it.
 *
 * @param offeredRate requests per second the open loop offered (NaN for a closed loop)
 * @param users       concurrent users of a closed loop (0 for an open loop)
 */
public record RunResult(String label, double offeredRate, int users, Slo slo, long submitted, long completed,
                        long good, long promptTokens, long outputTokens, double elapsedSeconds,
                        Map<String, Long> errors, Histogram ttft, Histogram tpot, Histogram itl, Histogram e2e,
                        long[] completionsPerSecond, long[] tokensPerSecond) {
    public RunResult {
        errors = Map.copyOf(errors);
    }

    public double requestsPerSecond() {
        return completed / elapsedSeconds;
    }

    public double promptTokensPerSecond() {
        return promptTokens / elapsedSeconds;
    }

    public double generatedTokensPerSecond() {
        return outputTokens / elapsedSeconds;
    }

    /** Requests per second that met the SLO. */
    public double goodput() {
        return good / elapsedSeconds;
    }

    /** Fraction of the requests sent that met the SLO (0 when none were sent). */
    public double attainment() {
        return submitted == 0 ? 0 : good / (double) submitted;
    }

    public long errorCount() {
        return errors.values().stream().mapToLong(Long::longValue).sum();
    }
}
