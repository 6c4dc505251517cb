package io.splitserve.perf.load;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * How long one load run lasts and what it measures against, as a context object with defaults: 30 s of load, no
 * request cap, 60 s for the requests still running at the end to finish (those that do not are UNFINISHED errors),
 * SLO of TTFT 2 s and TPOT 100 ms, no histogram logs.
 */
public final class RunSettings {
    public static final long DEFAULT_DURATION_NS = TimeUnit.SECONDS.toNanos(30);
    public static final long DEFAULT_DRAIN_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(60);
    public static final Slo DEFAULT_SLO = Slo.ofMillis(2000, 100);

    private long durationNs = DEFAULT_DURATION_NS;
    private int maxRequests = Integer.MAX_VALUE;
    private long drainTimeoutNs = DEFAULT_DRAIN_TIMEOUT_NS;
    private Slo slo = DEFAULT_SLO;
    private Path hlogDir;
    private String label = "run";

    /** How long new requests are sent for. */
    public long durationNs() { return durationNs; }
    public RunSettings durationNs(long ns) { this.durationNs = ns; return this; }

    /** At most this many requests are sent, even if the duration has not passed. */
    public int maxRequests() { return maxRequests; }
    public RunSettings maxRequests(int requests) { this.maxRequests = requests; return this; }

    /** How long after the last send the run waits for outstanding requests. */
    public long drainTimeoutNs() { return drainTimeoutNs; }
    public RunSettings drainTimeoutNs(long ns) { this.drainTimeoutNs = ns; return this; }

    public Slo slo() { return slo; }
    public RunSettings slo(Slo slo) { this.slo = slo; return this; }

    /** Directory for the run's {@code .hlog} files; null writes none. */
    public Path hlogDir() { return hlogDir; }
    public RunSettings hlogDir(Path dir) { this.hlogDir = dir; return this; }

    public String label() { return label; }
    public RunSettings label(String label) { this.label = label; return this; }

    /** Checks the settings; throws IllegalArgumentException naming the first bad one. */
    public RunSettings validate() {
        if (durationNs <= 0 || maxRequests <= 0 || drainTimeoutNs < 0) {
            throw new IllegalArgumentException("duration and request count must be positive and the drain timeout "
                    + "not negative");
        }
        return this;
    }

    int timelineSeconds() {
        return (int) Math.min(Integer.MAX_VALUE - 8, (durationNs + drainTimeoutNs) / 1_000_000_000L + 2);
    }

    RunSettings copy() {
        return new RunSettings().durationNs(durationNs).maxRequests(maxRequests).drainTimeoutNs(drainTimeoutNs)
                .slo(slo).hlogDir(hlogDir).label(label);
    }
}
