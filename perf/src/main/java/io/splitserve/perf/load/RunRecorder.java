package io.splitserve.perf.load;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogWriter;
import org.HdrHistogram.Recorder;

/**
 * Collects one load run's measurements from many threads at once: TTFT, TPOT, inter-token and end-to-end latency
 * into HdrHistogram {@link Recorder}s (wait-free for the recording threads), counts of requests, tokens and errors
 * by kind, SLO attainment, and per-second timelines of completions and generated tokens. Once a second (and at the
 * end) it moves the interval histograms into the run totals and, when given a directory, appends them to one
 * {@code .hlog} file per metric, so a run can be replayed over time with HdrHistogram's log tools.
 *
 * <p>Every request that {@link #begin}s ends exactly once: completed, failed, or abandoned as UNFINISHED by
 * {@link #awaitDrain}; so no request can vanish from the statistics.
 */
public final class RunRecorder implements AutoCloseable {
    static final String[] METRICS = {"ttft", "tpot", "itl", "e2e"};
    private static final int TTFT = 0;
    private static final int TPOT = 1;
    private static final int ITL = 2;
    private static final int E2E = 3;

    private final Slo slo;
    private final long originNs;
    private final Recorder[] recorders = new Recorder[METRICS.length];
    private final Histogram[] totals = new Histogram[METRICS.length];
    private final HistogramLogWriter[] logs;
    private final PrintStream[] logStreams;
    private final AtomicLongArray completionsPerSecond;
    private final AtomicLongArray tokensPerSecond;
    private final LongAdder submitted = new LongAdder();
    private final LongAdder completed = new LongAdder();
    private final LongAdder good = new LongAdder();
    private final LongAdder promptTokens = new LongAdder();
    private final LongAdder outputTokens = new LongAdder();
    private final AtomicLong lastEndNs;
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final Set<RequestTiming> inFlight = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService sampler;
    private final Path requestsCsv;
    private final Queue<String> requestRows = new ConcurrentLinkedQueue<>();

    /**
     * @param originNs       the run's time zero (System.nanoTime)
     * @param timelineSeconds length of the per-second timelines; later events count in the last second
     * @param hlogDir        where to write {@code ttft.hlog}, {@code tpot.hlog}, {@code itl.hlog}, {@code e2e.hlog}
     *                       and {@code requests.csv} (one row per request, so goodput can be recomputed for any
     *                       SLO afterwards); null for none
     */
    public RunRecorder(Slo slo, long originNs, int timelineSeconds, Path hlogDir) {
        this.slo = slo;
        this.originNs = originNs;
        this.lastEndNs = new AtomicLong(originNs);
        this.completionsPerSecond = new AtomicLongArray(Math.max(1, timelineSeconds));
        this.tokensPerSecond = new AtomicLongArray(Math.max(1, timelineSeconds));
        this.requestsCsv = hlogDir == null ? null : hlogDir.resolve("requests.csv");
        final long startMs = System.currentTimeMillis();
        for (int i = 0; i < METRICS.length; i++) {
            recorders[i] = new Recorder(3);
            totals[i] = new Histogram(3);
        }
        if (hlogDir == null) {
            logs = null;
            logStreams = null;
        } else {
            logs = new HistogramLogWriter[METRICS.length];
            logStreams = new PrintStream[METRICS.length];
            try {
                Files.createDirectories(hlogDir);
                for (int i = 0; i < METRICS.length; i++) {
                    logStreams[i] = new PrintStream(Files.newOutputStream(hlogDir.resolve(METRICS[i] + ".hlog")),
                            false, "UTF-8");
                    logs[i] = new HistogramLogWriter(logStreams[i]);
                    logs[i].outputComment("SplitServe bench " + METRICS[i] + " latency, values in nanoseconds");
                    logs[i].outputLogFormatVersion();
                    logs[i].outputStartTime(startMs);
                    logs[i].setBaseTime(startMs);
                    logs[i].outputLegend();
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write histogram logs in " + hlogDir, e);
            }
        }
        sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            final Thread t = new Thread(r, "splitserve-bench-sampler");
            t.setDaemon(true);
            return t;
        });
        sampler.scheduleAtFixedRate(this::sample, 1, 1, TimeUnit.SECONDS);
    }

    /** Starts the clock of a request meant to be sent at {@code intendedStartNs}; {@code onEnd} runs once at its end. */
    public ResponseObserver begin(RequestSpec spec, long intendedStartNs, Runnable onEnd) {
        submitted.increment();
        final RequestTiming[] self = new RequestTiming[1];
        self[0] = new RequestTiming(this, spec, intendedStartNs, () -> {
            inFlight.remove(self[0]);
            onEnd.run();
        });
        inFlight.add(self[0]);
        return self[0];
    }

    public int inFlight() {
        return inFlight.size();
    }

    /**
     * Waits until every begun request has ended or {@code deadlineNs} passes; requests still running then are
     * abandoned as UNFINISHED. Returns true if all ended by themselves.
     */
    public boolean awaitDrain(long deadlineNs) throws InterruptedException {
        while (!inFlight.isEmpty() && System.nanoTime() - deadlineNs < 0) {
            Thread.sleep(5);
        }
        boolean clean = true;
        for (RequestTiming t : inFlight) {
            if (t.abandon()) {
                clean = false;
            }
            inFlight.remove(t);
        }
        return clean;
    }

    void recordCompletion(long nowNs, long ttftNs, long tpotNs, long e2eNs, int prompt, int output) {
        recorders[TTFT].recordValue(Math.max(0, ttftNs));
        if (output > 1) {
            recorders[TPOT].recordValue(Math.max(0, tpotNs));
        }
        recorders[E2E].recordValue(Math.max(0, e2eNs));
        completed.increment();
        promptTokens.add(prompt);
        outputTokens.add(output);
        if (slo.met(ttftNs, tpotNs)) {
            good.increment();
        }
        completionsPerSecond.incrementAndGet(second(nowNs));
        lastEndNs.accumulateAndGet(nowNs, Math::max);
    }

    /**
     * One request's row for {@code requests.csv}: its intended start (seconds after the origin), lengths, latencies
     * in milliseconds (the longest gap between token arrivals included) and OK or the error kind.
     */
    void recordRequest(long intendedStartNs, int prompt, int output, long ttftNs, long tpotNs, long e2eNs,
                       long maxGapNs, String status) {
        if (requestsCsv != null) {
            requestRows.add(String.format(Locale.ROOT, "%.6f,%d,%d,%.3f,%.4f,%.3f,%.3f,%s",
                    (intendedStartNs - originNs) / 1e9, prompt, output, ttftNs / 1e6, tpotNs / 1e6, e2eNs / 1e6,
                    maxGapNs / 1e6, status));
        }
    }

    void recordInterTokenLatency(long ns) {
        recorders[ITL].recordValue(Math.max(0, ns));
    }

    void countTokenArrival(long nowNs) {
        tokensPerSecond.incrementAndGet(second(nowNs));
    }

    void recordError(String kind, long nowNs) {
        errors.computeIfAbsent(kind, k -> new LongAdder()).increment();
        lastEndNs.accumulateAndGet(nowNs, Math::max);
    }

    private int second(long nowNs) {
        final long s = Math.max(0, (nowNs - originNs) / 1_000_000_000L);
        return (int) Math.min(s, completionsPerSecond.length() - 1);
    }

    /** Moves the interval histograms into the totals and the logs. */
    private synchronized void sample() {
        for (int i = 0; i < METRICS.length; i++) {
            final Histogram interval = recorders[i].getIntervalHistogram();
            totals[i].add(interval);
            if (logs != null) {
                logs[i].outputIntervalHistogram(interval);
                logStreams[i].flush();
            }
        }
    }

    /**
     * Ends the run: takes the last interval, closes the logs and returns the results, with throughput measured over
     * [origin, max(last request end, {@code minEndNs})].
     */
    public synchronized RunResult finish(String label, double offeredRate, int users, long minEndNs) {
        sampler.shutdownNow();
        sample();
        close();
        writeRequests();
        final double seconds = Math.max(lastEndNs.get(), minEndNs) - originNs > 0
                ? (Math.max(lastEndNs.get(), minEndNs) - originNs) / 1e9 : 1e-9;
        final Map<String, Long> errorCounts = new TreeMap<>();
        errors.forEach((k, v) -> errorCounts.put(k, v.sum()));
        final int usedSeconds = (int) Math.min(completionsPerSecond.length(), Math.ceil(seconds));
        final long[] completions = new long[usedSeconds];
        final long[] tokens = new long[usedSeconds];
        for (int i = 0; i < usedSeconds; i++) {
            completions[i] = completionsPerSecond.get(i);
            tokens[i] = tokensPerSecond.get(i);
        }
        return new RunResult(label, offeredRate, users, slo, submitted.sum(), completed.sum(), good.sum(),
                promptTokens.sum(), outputTokens.sum(), seconds, errorCounts,
                totals[TTFT].copy(), totals[TPOT].copy(), totals[ITL].copy(), totals[E2E].copy(), completions, tokens);
    }

    private void writeRequests() {
        if (requestsCsv == null) {
            return;
        }
        final List<String> lines = new ArrayList<>(requestRows.size() + 1);
        lines.add("start_s,prompt_tokens,output_tokens,ttft_ms,tpot_ms,e2e_ms,max_gap_ms,status");
        final List<String> rows = new ArrayList<>(requestRows);
        rows.sort(Comparator.comparingDouble(r -> Double.parseDouble(r.substring(0, r.indexOf(',')))));
        lines.addAll(rows);
        try {
            Files.write(requestsCsv, lines);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + requestsCsv, e);
        }
    }

    @Override
    public synchronized void close() {
        sampler.shutdownNow();
        if (logStreams != null) {
            for (PrintStream s : logStreams) {
                s.close();
            }
        }
    }
}
