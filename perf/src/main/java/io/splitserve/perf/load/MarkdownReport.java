package io.splitserve.perf.load;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes load results as Markdown: for one run, the header, a latency table (P50, P90, P99, P99.9, max in ms per
 * metric), throughput and goodput, and errors by kind; for a sweep, one row per offered rate and the highest rate
 * that held the attainment target. Also a CSV of a sweep, one row per rate, for comparisons across setups.
 */
public final class MarkdownReport {
    private MarkdownReport() {}

    public static String run(ReportHeader header, RunResult r, List<String> files) {
        final StringBuilder md = new StringBuilder();
        md.append("# SplitServe load run: ").append(r.label()).append("\n\n");
        header(md, header);
        md.append("- SLO: ").append(r.slo().describe()).append("\n\n");
        md.append("## Latency (ms)\n\n");
        latencyTable(md, r);
        md.append("\n## Throughput and goodput\n\n");
        md.append("| sent | completed | failed | elapsed (s) | requests/s | prompt tokens/s | generated tokens/s "
                + "| goodput (requests/s) | SLO attainment |\n");
        md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        md.append("| ").append(r.submitted()).append(" | ").append(r.completed()).append(" | ").append(r.errorCount())
                .append(" | ").append(f(r.elapsedSeconds(), 1)).append(" | ").append(f(r.requestsPerSecond(), 3))
                .append(" | ").append(f(r.promptTokensPerSecond(), 1)).append(" | ")
                .append(f(r.generatedTokensPerSecond(), 1)).append(" | ").append(f(r.goodput(), 3)).append(" | ")
                .append(percent(r.attainment())).append(" |\n");
        md.append("\n## Errors by kind\n\n");
        if (r.errors().isEmpty()) {
            md.append("None.\n");
        } else {
            md.append("| kind | count |\n|---|---:|\n");
            r.errors().entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .forEach(e -> md.append("| ").append(e.getKey()).append(" | ").append(e.getValue()).append(" |\n"));
        }
        if (!files.isEmpty()) {
            md.append("\n## Files\n\n");
            for (String f : files) {
                md.append(f.endsWith(".png") ? "![" + f + "](" + f + ")\n\n" : "- [" + f + "](" + f + ")\n");
            }
        }
        return md.toString();
    }

    static void latencyTable(StringBuilder md, RunResult r) {
        md.append("| metric | samples | P50 | P90 | P99 | P99.9 | max |\n|---|---:|---:|---:|---:|---:|---:|\n");
        row(md, "TTFT", LatencySummary.of(r.ttft()));
        row(md, "TPOT", LatencySummary.of(r.tpot()));
        row(md, "inter-token", LatencySummary.of(r.itl()));
        row(md, "end-to-end", LatencySummary.of(r.e2e()));
    }

    private static void row(StringBuilder md, String name, LatencySummary s) {
        md.append("| ").append(name).append(" | ").append(s.count()).append(" | ").append(ms(s.p50Ms())).append(" | ")
                .append(ms(s.p90Ms())).append(" | ").append(ms(s.p99Ms())).append(" | ").append(ms(s.p999Ms()))
                .append(" | ").append(ms(s.maxMs())).append(" |\n");
    }

    public static String sweep(ReportHeader header, RateSweep.Result sweep) {
        final StringBuilder md = new StringBuilder("# SplitServe rate sweep\n\n");
        header(md, header);
        md.append("- SLO: ").append(sweep.runs().get(0).slo().describe()).append("; attainment target ")
                .append(percent(sweep.targetAttainment())).append("\n\n");
        md.append(sweep.bestRate() > 0
                ? "**Highest offered rate holding " + percent(sweep.targetAttainment()) + " SLO attainment: "
                        + f(sweep.bestRate(), 3) + " requests/s** (goodput " + f(sweep.best().goodput(), 3)
                        + " requests/s).\n\n"
                : "**No offered rate held " + percent(sweep.targetAttainment()) + " SLO attainment.**\n\n");
        md.append("| offered (req/s) | sent | completed | failed | req/s | generated tok/s | TTFT P50 | TTFT P99 "
                + "| TPOT P50 | TPOT P99 | ITL P99 | goodput (req/s) | attainment |\n");
        md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (RunResult r : sweep.runs()) {
            final LatencySummary ttft = LatencySummary.of(r.ttft());
            final LatencySummary tpot = LatencySummary.of(r.tpot());
            md.append("| ").append(f(r.offeredRate(), 3)).append(" | ").append(r.submitted()).append(" | ")
                    .append(r.completed()).append(" | ").append(r.errorCount()).append(" | ")
                    .append(f(r.requestsPerSecond(), 3)).append(" | ").append(f(r.generatedTokensPerSecond(), 1))
                    .append(" | ").append(ms(ttft.p50Ms())).append(" | ").append(ms(ttft.p99Ms())).append(" | ")
                    .append(ms(tpot.p50Ms())).append(" | ").append(ms(tpot.p99Ms())).append(" | ")
                    .append(ms(LatencySummary.of(r.itl()).p99Ms())).append(" | ").append(f(r.goodput(), 3))
                    .append(" | ").append(percent(r.attainment())).append(" |\n");
        }
        md.append("\nLatencies in ms. Each rate's own report, histogram logs and plots are in `rate-<rate>/`.\n\n")
                .append("![sweep](sweep.png)\n");
        return md.toString();
    }

    /** One CSV row per run: the figures a comparison across serving setups needs. */
    public static String sweepCsv(List<RunResult> runs) {
        final StringBuilder csv = new StringBuilder("offered_rate,sent,completed,failed,requests_per_s,"
                + "generated_tokens_per_s,ttft_p50_ms,ttft_p99_ms,tpot_p50_ms,tpot_p99_ms,itl_p99_ms,e2e_p99_ms,"
                + "goodput,attainment\n");
        for (RunResult r : runs) {
            csv.append(String.format(Locale.ROOT, "%.4f,%d,%d,%d,%.4f,%.2f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.4f,%.4f%n",
                    r.offeredRate(), r.submitted(), r.completed(), r.errorCount(), r.requestsPerSecond(),
                    r.generatedTokensPerSecond(), LatencySummary.of(r.ttft()).p50Ms(),
                    LatencySummary.of(r.ttft()).p99Ms(), LatencySummary.of(r.tpot()).p50Ms(),
                    LatencySummary.of(r.tpot()).p99Ms(), LatencySummary.of(r.itl()).p99Ms(),
                    LatencySummary.of(r.e2e()).p99Ms(), r.goodput(), r.attainment()));
        }
        return csv.toString();
    }

    private static void header(StringBuilder md, ReportHeader h) {
        md.append("- Command: `").append(h.command()).append("`\n");
        md.append("- Date: ").append(h.dateUtc()).append("\n");
        md.append("- Machine: ").append(h.machine()).append("\n");
        md.append("- Target: ").append(h.target()).append("\n");
        if (!h.pattern().isEmpty()) {
            md.append("- Load: ").append(h.pattern()).append("\n");
        }
        md.append("- Workload: ").append(h.workload()).append("\n");
    }

    static void write(Path file, String text) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    static String ms(double value) {
        if (Double.isNaN(value)) {
            return "-";
        }
        return f(value, value < 10 ? 3 : value < 1000 ? 1 : 0);
    }

    static String f(double value, int decimals) {
        return String.format(Locale.ROOT, "%." + decimals + "f", value);
    }

    static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * fraction);
    }
}
