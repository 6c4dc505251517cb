package io.splitserve.perf.load;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Runs load and writes its results: one run gives {@code report.md}, the four {@code .hlog} files and the two
 * plots in its directory; a sweep gives each rate's run in {@code rate-<rate>/} plus {@code sweep.md},
 * {@code sweep.csv} and {@code sweep.png}. With no directory it only measures.
 */
public final class Bench {
    public static final String REPORT = "report.md";
    public static final String LATENCY_PNG = "latency-percentiles.png";
    public static final String THROUGHPUT_PNG = "throughput.png";

    private Bench() {}

    public static RunResult runAndReport(LoadTarget target, Workload workload, LoadPattern pattern,
                                         RunSettings settings, Path outDir, ReportHeader header)
            throws InterruptedException {
        final RunResult result = pattern.run(target, workload, settings.copy().hlogDir(outDir));
        if (outDir != null) {
            final boolean latencyPlot = Charts.latencyPercentiles(result, outDir.resolve(LATENCY_PNG));
            final boolean throughputPlot = Charts.throughputOverTime(result, outDir.resolve(THROUGHPUT_PNG));
            final List<String> files = new ArrayList<>();
            for (String metric : RunRecorder.METRICS) {
                files.add(metric + ".hlog");
            }
            if (latencyPlot) {
                files.add(LATENCY_PNG);
            }
            if (throughputPlot) {
                files.add(THROUGHPUT_PNG);
            }
            MarkdownReport.write(outDir.resolve(REPORT), MarkdownReport.run(header, result, files));
        }
        return result;
    }

    public static RateSweep.Result sweepAndReport(LoadTarget target, Supplier<Workload> workloads, long seed,
                                                  double[] rates, int refineSteps, double targetAttainment,
                                                  RunSettings settings, Path outDir, ReportHeader header)
            throws InterruptedException {
        final RateSweep.Result sweep = RateSweep.run(target, workloads, seed, rates, refineSteps, targetAttainment,
                settings, outDir, header);
        if (outDir != null) {
            final ReportHeader sweepHeader = header.withPattern("open loop, Poisson arrivals (seed " + seed
                    + ") at each rate for " + settings.durationNs() / 1_000_000_000.0 + " s");
            MarkdownReport.write(outDir.resolve("sweep.md"), MarkdownReport.sweep(sweepHeader, sweep));
            MarkdownReport.write(outDir.resolve("sweep.csv"), MarkdownReport.sweepCsv(sweep.runs()));
            Charts.sweep(sweep.runs(), outDir.resolve("sweep.png"));
        }
        return sweep;
    }
}
