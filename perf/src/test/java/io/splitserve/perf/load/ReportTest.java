package io.splitserve.perf.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Markdown tables, CSV rows, PNG plots and the sweep's search, on results with known numbers. */
class ReportTest {
    static final long MS = 1_000_000L;
    static final ReportHeader HEADER = new ReportHeader("splitserve bench --rate 2", "test machine", "2026-01-01 00:00 UTC",
            "aeron client (id 1)", "open loop", "fixed: fixed 100% (prompt 600, output 600); seed 1");

    /** A run at {@code rate} whose TTFTs are 1..100 ms and whose attainment is {@code good}/100. */
    static RunResult run(double rate, int good) {
        final Histogram ttft = new Histogram(3);
        final Histogram tpot = new Histogram(3);
        for (int i = 1; i <= 100; i++) {
            ttft.recordValue(i * MS);
            tpot.recordValue(20 * MS);
        }
        return new RunResult("rate " + rate, rate, 0, Slo.ofMillis(50, 30), 100, 98, good, 60_000, 60_000, 50,
                Map.of("OVERLOADED", 2L), ttft, tpot, tpot.copy(), ttft.copy(), new long[] {1, 3, 2}, new long[] {100, 300, 250});
    }

    @Test
    void runReportHasTheCommandTablesAndErrors() {
        final String md = MarkdownReport.run(HEADER, run(2, 49), List.of("ttft.hlog", "latency-percentiles.png"));
        assertTrue(md.contains("- Command: `splitserve bench --rate 2`"));
        assertTrue(md.contains("| TTFT | 100 | 50.0 | 90.0 | 99.0 | 100.0 | 100.0 |"), md);
        assertTrue(md.contains("| TPOT | 100 | 20.0 | 20.0 | 20.0 | 20.0 | 20.0 |"), md);
        // 98 completed over 50 s, 60000 tokens each way, 49 good of 100 sent
        assertTrue(md.contains("| 100 | 98 | 2 | 50.0 | 1.960 | 1200.0 | 1200.0 | 0.980 | 49.0% |"), md);
        assertTrue(md.contains("| OVERLOADED | 2 |"));
        assertTrue(md.contains("![latency-percentiles.png](latency-percentiles.png)"));
        assertTrue(md.contains("- [ttft.hlog](ttft.hlog)"));
    }

    @Test
    void plotsAreRealPngs(@TempDir Path dir) throws Exception {
        final RunResult r = run(2, 49);
        Charts.latencyPercentiles(r, dir.resolve("latency.png"));
        Charts.throughputOverTime(r, dir.resolve("throughput.png"));
        Charts.sweep(List.of(run(1, 99), r), dir.resolve("sweep.png"));
        for (String name : List.of("latency.png", "throughput.png", "sweep.png")) {
            final BufferedImage image = ImageIO.read(dir.resolve(name).toFile());
            assertNotNull(image, name);
            assertEquals(1000, image.getWidth());
            assertEquals(600, image.getHeight());
        }
    }

    @Test
    void sweepBisectsTowardTheHighestPassingRate() throws Exception {
        // attainment holds up to 3.3 requests/s and collapses above it
        final RateSweep.Result sweep = RateSweep.run(new double[] {4, 1, 2}, 3, 0.9, new RunSettings(),
                (rate, settings) -> run(rate, rate <= 3.3 ? 95 : 40));
        // 1, 2, 4 then bisect: 3 (pass), 3.5 (fail), 3.25 (pass)
        assertEquals(List.of(1.0, 2.0, 3.0, 3.25, 3.5, 4.0),
                sweep.runs().stream().map(RunResult::offeredRate).toList());
        assertEquals(3.25, sweep.bestRate());
        final String md = MarkdownReport.sweep(HEADER, sweep);
        assertTrue(md.contains("Highest offered rate holding 90.0% SLO attainment: 3.250 requests/s"), md);
        final String[] csv = MarkdownReport.sweepCsv(sweep.runs()).split("\n");
        assertEquals(7, csv.length);
        assertTrue(csv[1].startsWith("1.0000,100,98,2,1.9600,1200.00,"), csv[1]);
        final String[] cells = csv[1].split(",");
        assertEquals(50.0, Double.parseDouble(cells[6]), 0.05, "TTFT P50");
        assertEquals(99.0, Double.parseDouble(cells[7]), 0.1, "TTFT P99");
        assertEquals(0.95, Double.parseDouble(cells[13]), 1e-9, "attainment");
    }

    @Test
    void sweepWithNoPassingRateSaysSo() throws Exception {
        final RateSweep.Result sweep = RateSweep.run(new double[] {1}, 1, 0.9, new RunSettings(),
                (rate, settings) -> run(rate, 10));
        assertNull(sweep.best());
        assertEquals(List.of(0.5, 1.0), sweep.runs().stream().map(RunResult::offeredRate).toList());
        assertTrue(MarkdownReport.sweep(HEADER, sweep).contains("No offered rate held 90.0% SLO attainment"));
    }

    @Test
    void comparisonPutsSetupsSideBySide(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("a.csv"), MarkdownReport.sweepCsv(List.of(run(1, 99), run(2, 49))));
        Files.writeString(dir.resolve("b.csv"), MarkdownReport.sweepCsv(List.of(run(1, 95))));
        SweepComparison.main(new String[] {dir.resolve("out").toString(), "split=" + dir.resolve("a.csv"),
                "together=" + dir.resolve("b.csv")});
        final List<String> lines = Files.readAllLines(dir.resolve("out").resolve("comparison.md"));
        assertEquals(5, lines.size(), String.join("\n", lines));
        assertTrue(lines.get(2).startsWith("| 1 | split | 100 | 2 | 50.0 | 99.0 | 20.0 | 20.0 | 1.980 | 99.0% |"),
                lines.get(2));
        assertTrue(lines.get(3).startsWith("| 1 | together |"), lines.get(3));
        assertTrue(lines.get(4).startsWith("| 2 | split |"), lines.get(4));
        for (String png : List.of("ttft-p99.png", "tpot-p99.png", "goodput.png")) {
            assertNotNull(ImageIO.read(dir.resolve("out").resolve(png).toFile()), png);
        }
    }
}
