package io.splitserve.perf.load;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The clock of one request, started at its intended send time (not the moment it was actually sent), so a late
 * send caused by a stalled system still counts against the system. Tracks the first and latest token arrival and
 * hands the finished request to its {@link RunRecorder} exactly once, whichever of completion, error or the run's
 * drain deadline comes first.
 */
final class RequestTiming implements ResponseObserver {
    private final RunRecorder recorder;
    private final RequestSpec spec;
    private final long intendedStartNs;
    private final AtomicBoolean ended = new AtomicBoolean();
    private final Runnable onEnd;
    private long firstTokenNs;
    private long lastTokenNs;
    private long maxGapNs;
    private int arrivals;

    RequestTiming(RunRecorder recorder, RequestSpec spec, long intendedStartNs, Runnable onEnd) {
        this.recorder = recorder;
        this.spec = spec;
        this.intendedStartNs = intendedStartNs;
        this.onEnd = onEnd;
    }

    @Override
    public void onTokens(long nowNs) {
        if (ended.get()) {
            return;
        }
        if (arrivals == 0) {
            firstTokenNs = nowNs;
        } else {
            recorder.recordInterTokenLatency(nowNs - lastTokenNs);
            maxGapNs = Math.max(maxGapNs, nowNs - lastTokenNs);
        }
        lastTokenNs = nowNs;
        arrivals++;
        recorder.countTokenArrival(nowNs);
    }

    @Override
    public void onComplete(long nowNs, int promptTokens, int outputTokens) {
        if (!ended.compareAndSet(false, true)) {
            return;
        }
        final int prompt = promptTokens > 0 ? promptTokens : spec.promptTokens();
        if (arrivals == 0) {
            recorder.recordError("NO_TOKENS", nowNs);
            recorder.recordRequest(intendedStartNs, prompt, outputTokens, 0, 0, nowNs - intendedStartNs, 0, "NO_TOKENS");
        } else {
            final long ttft = firstTokenNs - intendedStartNs;
            final long tpot = outputTokens > 1 ? (lastTokenNs - firstTokenNs) / (outputTokens - 1) : 0;
            recorder.recordCompletion(nowNs, ttft, tpot, nowNs - intendedStartNs, prompt, outputTokens);
            recorder.recordRequest(intendedStartNs, prompt, outputTokens, ttft, tpot, nowNs - intendedStartNs,
                    maxGapNs, "OK");
        }
        onEnd.run();
    }

    @Override
    public void onError(long nowNs, String kind) {
        if (ended.compareAndSet(false, true)) {
            recorder.recordError(kind, nowNs);
            recorder.recordRequest(intendedStartNs, spec.promptTokens(), arrivals, 0, 0, nowNs - intendedStartNs,
                    maxGapNs, kind);
            onEnd.run();
        }
    }

    /** Ends a request still running at the drain deadline as UNFINISHED; false if it had already ended. */
    boolean abandon() {
        if (ended.compareAndSet(false, true)) {
            final long now = System.nanoTime();
            recorder.recordError("UNFINISHED", now);
            recorder.recordRequest(intendedStartNs, spec.promptTokens(), arrivals, 0, 0, now - intendedStartNs,
                    maxGapNs, "UNFINISHED");
            onEnd.run();
            return true;
        }
        return false;
    }
}
