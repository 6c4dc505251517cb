package io.splitserve.perf.load;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Open-loop load: requests arrive by a seeded Poisson process whatever the system does, and each request's
 * latencies run from its scheduled arrival time. A system that falls behind therefore shows its queueing in TTFT
 * and end-to-end latency instead of silently slowing the generator down (no coordinated omission). The schedule and
 * every request are built before the clock starts, so building prompts never delays a send.
 */
public final class OpenLoop implements LoadPattern {
    private static final long START_LEAD_NS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final Runnable NOTHING = () -> { };

    private final double ratePerSecond;
    private final long seed;

    public OpenLoop(double ratePerSecond, long seed) {
        if (!(ratePerSecond > 0) || Double.isInfinite(ratePerSecond)) {
            throw new IllegalArgumentException("arrival rate must be a positive number of requests per second, got "
                    + ratePerSecond);
        }
        this.ratePerSecond = ratePerSecond;
        this.seed = seed;
    }

    /** Arrival offsets from the run's start (nanoseconds), within {@code durationNs}, at most {@code max} of them. */
    public static long[] schedule(double ratePerSecond, long seed, long durationNs, int max) {
        final PoissonArrivals arrivals = new PoissonArrivals(ratePerSecond, seed);
        final List<Long> offsets = new ArrayList<>();
        long t = arrivals.nextGapNs();
        while (t <= durationNs && offsets.size() < max) {
            offsets.add(t);
            t += arrivals.nextGapNs();
        }
        return offsets.stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * Every request this loop sends in a run of {@code settings}, in sending order, with its arrival offset: the
     * i-th arrival carries the workload's i-th request. {@link #run} sends exactly this plan, so a plan written out
     * replays the same load elsewhere.
     */
    public ScheduledRequest[] plan(Workload workload, RunSettings settings) {
        final long[] offsets = schedule(ratePerSecond, seed, settings.durationNs(), settings.maxRequests());
        final ScheduledRequest[] requests = new ScheduledRequest[offsets.length];
        for (int i = 0; i < requests.length; i++) {
            requests[i] = new ScheduledRequest(offsets[i], workload.next());
        }
        return requests;
    }

    public double ratePerSecond() {
        return ratePerSecond;
    }

    @Override
    public RunResult run(LoadTarget target, Workload workload, RunSettings settings) throws InterruptedException {
        final ScheduledRequest[] requests = plan(workload, settings);
        final long origin = System.nanoTime() + START_LEAD_NS;
        final RunRecorder recorder = new RunRecorder(settings.slo(), origin, settings.timelineSeconds(),
                settings.hlogDir());
        try {
            for (ScheduledRequest scheduled : requests) {
                final long intended = origin + scheduled.offsetNs();
                for (long wait = intended - System.nanoTime(); wait > 0; wait = intended - System.nanoTime()) {
                    LockSupport.parkNanos(wait);
                }
                target.submit(scheduled.request(), recorder.begin(scheduled.request(), intended, NOTHING));
            }
            final long lastSend = Math.max(System.nanoTime(), origin + settings.durationNs());
            recorder.awaitDrain(lastSend + settings.drainTimeoutNs());
            return recorder.finish(settings.label(), ratePerSecond, 0, origin + settings.durationNs());
        } finally {
            recorder.close();
        }
    }

    @Override
    public String describe() {
        return "open loop, Poisson arrivals at " + ratePerSecond + " requests/s (seed " + seed + ")";
    }
}
