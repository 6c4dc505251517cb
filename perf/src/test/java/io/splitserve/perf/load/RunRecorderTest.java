package io.splitserve.perf.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.HistogramLogReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Percentile, TPOT, goodput and error arithmetic of a run, fed with synthetic times. */
class RunRecorderTest {
    static final long MS = 1_000_000L;
    static final RequestSpec SPEC = new RequestSpec("x", 8, 11);

    @Test
    void latenciesRunFromTheIntendedStartAndTpotSpreadsOverTheLaterTokens() {
        final long origin = 1_000 * MS;
        final RunRecorder recorder = new RunRecorder(Slo.ofMillis(500, 50), origin, 10, null);
        // intended at origin, actually answered 100 ms later: 10 ms first token wait + 90 ms of queueing
        final ResponseObserver r = recorder.begin(SPEC, origin, () -> { });
        final long first = origin + 100 * MS;
        for (int i = 0; i < 11; i++) {
            r.onTokens(first + i * 20 * MS);
        }
        r.onComplete(first + 200 * MS, 8, 11);
        final RunResult result = recorder.finish("t", 1, 0, origin + 1000 * MS);
        assertEquals(100.0, LatencySummary.of(result.ttft()).p50Ms(), 0.1);
        assertEquals(20.0, LatencySummary.of(result.tpot()).p50Ms(), 0.02);
        assertEquals(10, result.itl().getTotalCount());
        assertEquals(20.0, LatencySummary.of(result.itl()).maxMs(), 0.02);
        assertEquals(300.0, LatencySummary.of(result.e2e()).p50Ms(), 0.3);
        assertEquals(1, result.good());
        assertEquals(11, result.outputTokens());
        assertEquals(8, result.promptTokens());
    }

    @Test
    void percentilesGoodputAndAttainmentOfAKnownRun() {
        final long origin = 0;
        final RunRecorder recorder = new RunRecorder(Slo.ofMillis(50, 10), origin, 30, null);
        for (int i = 1; i <= 100; i++) {
            // TTFT i ms; TPOT 5 ms for odd i and 15 ms for even i
            final ResponseObserver r = recorder.begin(SPEC, origin, () -> { });
            final long tpot = (i % 2 == 1 ? 5 : 15) * MS;
            r.onTokens(i * MS);
            r.onTokens(i * MS + 10 * tpot);
            r.onComplete(i * MS + 10 * tpot, 8, 11);
        }
        recorder.begin(SPEC, origin, () -> { }).onError(0, "OVERLOADED");
        recorder.begin(SPEC, origin, () -> { }).onError(0, "OVERLOADED");
        final RunResult r = recorder.finish("t", 1, 0, 20_000 * MS);
        final LatencySummary ttft = LatencySummary.of(r.ttft());
        assertEquals(50.0, ttft.p50Ms(), 0.05);
        assertEquals(90.0, ttft.p90Ms(), 0.1);
        assertEquals(99.0, ttft.p99Ms(), 0.1);
        assertEquals(100.0, ttft.maxMs(), 0.1);
        // good: TTFT <= 50 ms and odd i -> 25 requests
        assertEquals(25, r.good());
        assertEquals(102, r.submitted());
        assertEquals(100, r.completed());
        assertEquals(2L, r.errors().get("OVERLOADED"));
        assertEquals(25 / 102.0, r.attainment(), 1e-12);
        assertEquals(20.0, r.elapsedSeconds(), 1e-9);
        assertEquals(25 / 20.0, r.goodput(), 1e-12);
        assertEquals(5.0, r.requestsPerSecond(), 1e-12);
        assertEquals(1100 / 20.0, r.generatedTokensPerSecond(), 1e-9);
    }

    @Test
    void eachRequestEndsOnceAndUnfinishedOnesCountAsErrors() throws Exception {
        final RunRecorder recorder = new RunRecorder(Slo.ofMillis(1000, 100), System.nanoTime(), 10, null);
        final AtomicInteger ends = new AtomicInteger();
        final ResponseObserver done = recorder.begin(SPEC, System.nanoTime(), ends::incrementAndGet);
        final ResponseObserver hung = recorder.begin(SPEC, System.nanoTime(), ends::incrementAndGet);
        done.onTokens(System.nanoTime());
        done.onComplete(System.nanoTime(), 8, 1);
        done.onError(System.nanoTime(), "LATE");
        assertEquals(1, recorder.inFlight());
        assertFalse(recorder.awaitDrain(System.nanoTime() + 20 * MS));
        hung.onComplete(System.nanoTime(), 8, 1);
        final RunResult r = recorder.finish("t", 1, 0, 0);
        assertEquals(2, ends.get());
        assertEquals(1, r.completed());
        assertEquals(1L, r.errors().get("UNFINISHED"));
        assertEquals(null, r.errors().get("LATE"));
        assertEquals(0, r.tpot().getTotalCount(), "a one-token output has no TPOT");
    }

    @Test
    void intervalLogsHoldEveryRecordedValue(@TempDir Path dir) throws Exception {
        final RunRecorder recorder = new RunRecorder(Slo.ofMillis(1000, 100), 0, 10, dir);
        for (int i = 0; i < 7; i++) {
            final ResponseObserver r = recorder.begin(SPEC, 0, () -> { });
            r.onTokens(MS);
            r.onTokens(2 * MS);
            r.onComplete(2 * MS, 8, 2);
        }
        recorder.finish("t", 1, 0, 0);
        for (String metric : RunRecorder.METRICS) {
            final Path log = dir.resolve(metric + ".hlog");
            assertTrue(Files.size(log) > 0);
            long count = 0;
            final HistogramLogReader reader = new HistogramLogReader(log.toFile());
            for (EncodableHistogram h = reader.nextIntervalHistogram(); h != null; h = reader.nextIntervalHistogram()) {
                count += ((org.HdrHistogram.Histogram) h).getTotalCount();
            }
            assertEquals(7, count, metric);
        }
    }

    @Test
    void everyRequestLeavesOneCsvRowInStartOrderWithItsLatenciesAndLongestGap(@TempDir Path dir) throws Exception {
        final long origin = 0;
        final RunRecorder recorder = new RunRecorder(Slo.ofMillis(500, 50), origin, 10, dir);
        final ResponseObserver late = recorder.begin(SPEC, 300 * MS, () -> { });
        final ResponseObserver ok = recorder.begin(SPEC, 100 * MS, () -> { });
        ok.onTokens(130 * MS);      // TTFT 30 ms
        ok.onTokens(140 * MS);
        ok.onTokens(190 * MS);      // the longest gap: 50 ms
        ok.onComplete(190 * MS, 8, 3);
        late.onTokens(350 * MS);
        late.onError(400 * MS, "NODE_FAILED");
        recorder.finish("t", 1, 0, 1000 * MS);
        final var lines = Files.readAllLines(dir.resolve("requests.csv"));
        assertEquals(3, lines.size(), String.join("\n", lines));
        assertEquals("start_s,prompt_tokens,output_tokens,ttft_ms,tpot_ms,e2e_ms,max_gap_ms,status", lines.get(0));
        assertEquals("0.100000,8,3,30.000,30.0000,90.000,50.000,OK", lines.get(1));
        assertEquals("0.300000,8,1,0.000,0.0000,100.000,0.000,NODE_FAILED", lines.get(2));
    }
}
