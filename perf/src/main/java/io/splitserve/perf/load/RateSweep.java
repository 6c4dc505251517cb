package io.splitserve.perf.load;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Finds the highest open-loop arrival rate whose goodput holds an SLO attainment target (90% by default): runs
 * every given rate (lowest first, each with a fresh workload from the same seed, so every rate sees the same request
 * sequence), then bisects between the highest passing rate and the next failing one a given number of times.
 */
public final class RateSweep {
    public static final double DEFAULT_TARGET_ATTAINMENT = 0.9;

    /** All runs ordered by rate, the target, and the best passing run (null if none passed). */
    public record Result(List<RunResult> runs, double targetAttainment, RunResult best) {
        public double bestRate() {
            return best == null ? 0 : best.offeredRate();
        }
    }

    /** Runs one rate; the sweep passes the run's own settings (label, log directory). */
    public interface RunAtRate {
        RunResult run(double rate, RunSettings settings) throws InterruptedException;
    }

    private RateSweep() {}

    /** Sweeps with an open loop of seed {@code seed} against {@code target}, each rate's files under {@code outDir}. */
    public static Result run(LoadTarget target, Supplier<Workload> workloads, long seed, double[] rates, int refineSteps,
                             double targetAttainment, RunSettings settings, Path outDir, ReportHeader header)
            throws InterruptedException {
        return run(rates, refineSteps, targetAttainment, settings, (rate, s) -> {
            final OpenLoop loop = new OpenLoop(rate, seed);
            return Bench.runAndReport(target, workloads.get(), loop, s,
                    outDir == null ? null : outDir.resolve(rateDir(rate)), header.withPattern(loop.describe()));
        });
    }

    /** The sweep logic over any way of running a rate (so it can be checked without a server). */
    public static Result run(double[] rates, int refineSteps, double targetAttainment, RunSettings settings,
                             RunAtRate runner) throws InterruptedException {
        if (rates.length == 0 || refineSteps < 0 || !(targetAttainment > 0 && targetAttainment <= 1)) {
            throw new IllegalArgumentException("a sweep needs at least one rate, refine steps >= 0 and an attainment "
                    + "target in (0, 1]");
        }
        final List<RunResult> runs = new ArrayList<>();
        for (double rate : rates.clone()) {
            runs.add(runner.run(rate, settings.copy().label("rate " + format(rate))));
        }
        for (int step = 0; step < refineSteps; step++) {
            runs.sort(Comparator.comparingDouble(RunResult::offeredRate));
            final RunResult pass = best(runs, targetAttainment);
            final double low = pass == null ? 0 : pass.offeredRate();
            final RunResult fail = runs.stream().filter(r -> r.offeredRate() > low && r.attainment() < targetAttainment)
                    .findFirst().orElse(null);
            if (fail == null) {
                break;
            }
            final double mid = (low == 0 ? fail.offeredRate() / 2 : (low + fail.offeredRate()) / 2);
            runs.add(runner.run(mid, settings.copy().label("rate " + format(mid))));
        }
        runs.sort(Comparator.comparingDouble(RunResult::offeredRate));
        return new Result(List.copyOf(runs), targetAttainment, best(runs, targetAttainment));
    }

    /** The highest-rate run meeting the target, or null. */
    static RunResult best(List<RunResult> runs, double targetAttainment) {
        return runs.stream().filter(r -> r.attainment() >= targetAttainment)
                .max(Comparator.comparingDouble(RunResult::offeredRate)).orElse(null);
    }

    static String rateDir(double rate) {
        return "rate-" + format(rate);
    }

    static String format(double rate) {
        final String s = String.format(Locale.ROOT, "%.4f", rate);
        return s.replaceAll("0+$", "").replaceAll("\\.$", "");
    }
}
