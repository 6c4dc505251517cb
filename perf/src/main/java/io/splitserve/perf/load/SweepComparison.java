package io.splitserve.perf.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Puts the rate sweeps of several serving setups side by side (e.g. disaggregated against colocated): reads each
 * setup's {@code sweep.csv} and writes {@code comparison.md} (TTFT and TPOT P50/P99, goodput and attainment per
 * rate and setup) and plots of TTFT P99, TPOT P99 and goodput against offered rate.
 *
 * <p>Usage: {@code SweepComparison OUT_DIR LABEL=SWEEP_CSV LABEL=SWEEP_CSV ...}
 */
public final class SweepComparison {
    /** One setup's sweep rows: rate-ordered columns of sweep.csv. */
    record Sweep(String label, double[] rate, double[] ttftP50, double[] ttftP99, double[] tpotP50, double[] tpotP99,
                 double[] goodput, double[] attainment, long[] sent, long[] failed) { }

    private SweepComparison() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: SweepComparison OUT_DIR LABEL=SWEEP_CSV [LABEL=SWEEP_CSV ...]");
            System.exit(2);
        }
        final Path out = Path.of(args[0]);
        final List<Sweep> sweeps = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            final int eq = args[i].indexOf('=');
            if (eq <= 0) {
                System.err.println("error: expected LABEL=SWEEP_CSV, got " + args[i]);
                System.exit(2);
            }
            sweeps.add(read(args[i].substring(0, eq), Path.of(args[i].substring(eq + 1))));
        }
        Files.createDirectories(out);
        Files.writeString(out.resolve("comparison.md"), table(sweeps));
        plot(sweeps, "TTFT P99 against offered rate", "TTFT P99 (ms)", Sweep::ttftP99, true, out.resolve("ttft-p99.png"));
        plot(sweeps, "TPOT P99 against offered rate", "TPOT P99 (ms)", Sweep::tpotP99, true, out.resolve("tpot-p99.png"));
        plot(sweeps, "Goodput against offered rate", "goodput (requests/s)", Sweep::goodput, false,
                out.resolve("goodput.png"));
    }

    static Sweep read(String label, Path csv) throws IOException {
        final List<String[]> rows = new ArrayList<>();
        for (String line : Files.readAllLines(csv)) {
            if (!line.isBlank() && !line.startsWith("offered_rate")) {
                rows.add(line.split(","));
            }
        }
        final int n = rows.size();
        final Sweep s = new Sweep(label, new double[n], new double[n], new double[n], new double[n], new double[n],
                new double[n], new double[n], new long[n], new long[n]);
        for (int i = 0; i < n; i++) {
            final String[] r = rows.get(i);
            s.rate()[i] = Double.parseDouble(r[0]);
            s.sent()[i] = Long.parseLong(r[1]);
            s.failed()[i] = Long.parseLong(r[3]);
            s.ttftP50()[i] = Double.parseDouble(r[6]);
            s.ttftP99()[i] = Double.parseDouble(r[7]);
            s.tpotP50()[i] = Double.parseDouble(r[8]);
            s.tpotP99()[i] = Double.parseDouble(r[9]);
            s.goodput()[i] = Double.parseDouble(r[12]);
            s.attainment()[i] = Double.parseDouble(r[13]);
        }
        return s;
    }

    static String table(List<Sweep> sweeps) {
        final StringBuilder md = new StringBuilder("| offered (req/s) | setup | sent | failed | TTFT P50 (ms) "
                + "| TTFT P99 (ms) | TPOT P50 (ms) | TPOT P99 (ms) | goodput (req/s) | attainment |\n"
                + "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        final int rows = sweeps.stream().mapToInt(s -> s.rate().length).max().orElse(0);
        for (int i = 0; i < rows; i++) {
            for (Sweep s : sweeps) {
                if (i < s.rate().length) {
                    md.append(String.format(Locale.ROOT, "| %s | %s | %d | %d | %s | %s | %s | %s | %.3f | %.1f%% |%n",
                            RateSweep.format(s.rate()[i]), s.label(), s.sent()[i], s.failed()[i],
                            MarkdownReport.ms(s.ttftP50()[i]), MarkdownReport.ms(s.ttftP99()[i]),
                            MarkdownReport.ms(s.tpotP50()[i]), MarkdownReport.ms(s.tpotP99()[i]), s.goodput()[i],
                            100 * s.attainment()[i]));
                }
            }
        }
        return md.toString();
    }

    private static void plot(List<Sweep> sweeps, String title, String yTitle,
                             java.util.function.Function<Sweep, double[]> metric, boolean logY, Path png) {
        Charts.compare(title, yTitle, sweeps.stream().map(Sweep::label).toList(),
                sweeps.stream().map(Sweep::rate).toList(),
                sweeps.stream().map(s -> positive(metric.apply(s))).toList(), logY, png);
    }

    /** NaN (no samples) and zero cannot sit on a log axis; they are drawn at a floor of 0.001. */
    private static double[] positive(double[] values) {
        final double[] out = values.clone();
        for (int i = 0; i < out.length; i++) {
            if (!(out[i] > 0)) {
                out[i] = 1e-3;
            }
        }
        return out;
    }
}
