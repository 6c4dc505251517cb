package io.splitserve.perf.load;

import java.util.concurrent.TimeUnit;

/**
 * Service-level objectives a request must meet to count toward goodput: time to first token at most
 * {@code ttftNs} and time per output token (after the first) at most {@code tpotNs}. A failed request never meets
 * them; a request with one output token has no TPOT and is judged on TTFT alone.
 */
public record Slo(long ttftNs, long tpotNs) {
    public Slo {
        if (ttftNs <= 0 || tpotNs <= 0) {
            throw new IllegalArgumentException("SLO limits must be positive");
        }
    }

    public static Slo ofMillis(double ttftMs, double tpotMs) {
        if (!(ttftMs > 0) || !(tpotMs > 0)) {
            throw new IllegalArgumentException("SLO limits must be positive milliseconds, got TTFT " + ttftMs
                    + " ms and TPOT " + tpotMs + " ms");
        }
        return new Slo(Math.round(ttftMs * 1e6), Math.round(tpotMs * 1e6));
    }

    public boolean met(long ttftNs, long tpotNs) {
        return ttftNs <= this.ttftNs && tpotNs <= this.tpotNs;
    }

    public String describe() {
        return "TTFT <= " + millis(ttftNs) + " ms and TPOT <= " + millis(tpotNs) + " ms";
    }

    private static String millis(long ns) {
        final double ms = ns / (double) TimeUnit.MILLISECONDS.toNanos(1);
        return ms == Math.rint(ms) ? Long.toString((long) ms) : Double.toString(ms);
    }
}
