package io.splitserve.launcher;

import io.aeron.exceptions.AeronException;
import io.splitserve.client.ClientContext;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.SplitServeException;
import io.splitserve.engine.demo.DemoModel;
import io.splitserve.perf.load.AeronLoadTarget;
import io.splitserve.perf.load.Bench;
import io.splitserve.perf.load.ClosedLoop;
import io.splitserve.perf.load.HttpLoadTarget;
import io.splitserve.perf.load.JournalWorkload;
import io.splitserve.perf.load.LatencySummary;
import io.splitserve.perf.load.LoadPattern;
import io.splitserve.perf.load.LoadTarget;
import io.splitserve.perf.load.OpenLoop;
import io.splitserve.perf.load.PrefixCacheCounters;
import io.splitserve.perf.load.PromptFactory;
import io.splitserve.perf.load.RateSweep;
import io.splitserve.perf.load.ReportHeader;
import io.splitserve.perf.load.RunResult;
import io.splitserve.perf.load.RunSettings;
import io.splitserve.perf.load.ScheduleFile;
import io.splitserve.perf.load.ScheduledRequest;
import io.splitserve.perf.load.Slo;
import io.splitserve.perf.load.SharedPrefixWorkload;
import io.splitserve.perf.load.SyntheticWorkload;
import io.splitserve.perf.load.Workload;
import io.splitserve.perf.load.WorkloadMix;
import io.splitserve.router.HttpShim;
import io.splitserve.router.HttpShimContext;
import io.splitserve.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.agrona.CloseHelper;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code splitserve bench load}: the load generator, against a SplitServe, through the Aeron client (of a running {@code serve}, or of
 * one started in this JVM) or the HTTP shim, with an open loop at a rate, a closed loop of users, or a rate sweep;
 * writes a Markdown report, {@code .hlog} histogram logs and PNG plots, and prints the headline figures. With
 * {@code --write-schedule} it sends nothing and writes the open loop's exact plan instead, for servers it cannot drive.
 */
@Command(
    name = "load",
    mixinStandardHelpOptions = true,
    description = {
        "Measure a SplitServe under load: TTFT, TPOT, inter-token and end-to-end latency (HdrHistogram percentiles, "
            + "from each request's intended start), throughput, goodput under an SLO, and errors by kind.",
        "Example: splitserve bench load --embedded --colocated --sweep 0.5,1,2 --workload mixed --length-scale 0.1"})
final class LoadCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    static final class TargetChoice {
        @Option(names = "--aeron-dir", paramLabel = "DIR",
            description = "Media driver directory of a running `splitserve serve`: drive it through the Aeron client.")
        String aeronDir;

        @Option(names = "--http", paramLabel = "URL",
            description = "Base URL of the HTTP shim (e.g. http://127.0.0.1:8000): drive it with streamed /v1/completions.")
        String http;

        @Option(names = "--embedded",
            description = "Start a serving system in this JVM (as `serve` does) and drive it through the Aeron client.")
        boolean embedded;
    }

    /** Absent only with --write-schedule, which sends nothing. */
    @ArgGroup(exclusive = true, multiplicity = "0..1")
    TargetChoice target;

    static final class PatternChoice {
        @Option(names = "--rate", paramLabel = "R", description = "Open loop: Poisson arrivals at R requests/s.")
        Double rate;

        @Option(names = "--users", paramLabel = "N", description = "Closed loop: N users, each sending as soon as its previous request ends.")
        Integer users;

        @Option(names = "--sweep", paramLabel = "R1,R2,...", split = ",",
            description = "Open loop at each rate, then bisect toward the highest rate holding the attainment target.")
        double[] sweep;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    PatternChoice pattern;

    @Option(names = "--model", paramLabel = "DIR",
        description = "The served model's directory: its tokenizer sizes the prompts (and --embedded serves it). Default: the demo model.")
    Path model;

    @Option(names = "--model-name", paramLabel = "NAME", defaultValue = "",
        description = "Model name sent with each request (default: the server's model).")
    String modelName;

    @Option(names = "--colocated", description = "With --embedded: one colocated node (chunked prefill) instead of separate prefill and decode nodes.")
    boolean colocated;

    @Option(names = "--enable-prefix-caching", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "With --embedded: nodes cache prompt prefixes and the router places by them (default: on);"
            + " --no-enable-prefix-caching turns both off, for a side-by-side run.")
    boolean prefixCaching;

    @Option(names = "--prefill-nodes", paramLabel = "N", defaultValue = "1", description = "With --embedded: prefill nodes (default: ${DEFAULT-VALUE}).")
    int prefillNodes;

    @Option(names = "--decode-nodes", paramLabel = "N", defaultValue = "1", description = "With --embedded: decode (or colocated) nodes (default: ${DEFAULT-VALUE}).")
    int decodeNodes;

    @Option(names = "--via-http",
        description = "With --embedded: drive the system through its HTTP shim (on a free local port) instead of the Aeron client.")
    boolean viaHttp;

    @Option(names = "--heartbeat-timeout-ms", paramLabel = "MS", defaultValue = "1000",
        description = "With --embedded: silence after which the router declares a node dead (default: ${DEFAULT-VALUE}).")
    long heartbeatTimeoutMs;

    @Option(names = "--workload", paramLabel = "NAME", defaultValue = "fixed",
        description = "fixed, chat, summarization, code, mixed; multi-turn, system-prompt or few-shot (requests sharing"
            + " long prefixes, for the prefix cache); or journal:DIR to replay a router journal (default: ${DEFAULT-VALUE}).")
    String workload;

    @Option(names = "--prompt-tokens", paramLabel = "N", defaultValue = "600", description = "Prompt length of the fixed workload (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--output-tokens", paramLabel = "N", defaultValue = "600", description = "Output length of the fixed workload (default: ${DEFAULT-VALUE}).")
    int outputTokens;

    @Option(names = "--length-scale", paramLabel = "F", defaultValue = "1", description = "Multiply every length of a named mix by F (default: ${DEFAULT-VALUE}).")
    double lengthScale;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of arrivals and workload (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--duration", paramLabel = "SECONDS", defaultValue = "30", description = "How long requests are sent, per run (default: ${DEFAULT-VALUE}).")
    double durationSeconds;

    @Option(names = "--warmup", paramLabel = "SECONDS", defaultValue = "0",
        description = "First send load for this long, unmeasured (open loop at the lowest sweep rate, else the run's own"
            + " pattern, other requests than the measured ones), so JIT compilation stays out of the results (default: ${DEFAULT-VALUE}).")
    double warmupSeconds;

    @Option(names = "--requests", paramLabel = "N", description = "Send at most N requests per run.")
    Integer maxRequests;

    @Option(names = "--drain-timeout", paramLabel = "SECONDS", defaultValue = "60",
        description = "Wait this long after the last send for running requests; later ones count as UNFINISHED (default: ${DEFAULT-VALUE}).")
    double drainSeconds;

    @Option(names = "--slo-ttft-ms", paramLabel = "MS", defaultValue = "2000", description = "Goodput SLO on time to first token (default: ${DEFAULT-VALUE}).")
    double sloTtftMs;

    @Option(names = "--slo-tpot-ms", paramLabel = "MS", defaultValue = "100", description = "Goodput SLO on time per output token (default: ${DEFAULT-VALUE}).")
    double sloTpotMs;

    @Option(names = "--attainment", paramLabel = "F", defaultValue = "0.9", description = "SLO attainment a sweep rate must hold (default: ${DEFAULT-VALUE}).")
    double attainment;

    @Option(names = "--refine", paramLabel = "N", defaultValue = "2", description = "Bisection steps after the sweep's rates (default: ${DEFAULT-VALUE}).")
    int refine;

    @Option(names = "--out", paramLabel = "DIR", description = "Directory for the report, .hlog files and plots. Default: load-<date-time>.")
    Path out;

    @Option(names = "--label", paramLabel = "TEXT", defaultValue = "load", description = "Name of the run in reports (default: ${DEFAULT-VALUE}).")
    String label;

    @Option(names = "--write-schedule", paramLabel = "FILE",
        description = "With --rate: send nothing (a target may be left out); write the open loop's exact requests and "
            + "arrival offsets as JSON lines {index, at_s, prompt, prompt_tokens, max_tokens, rate, duration_s} "
            + "and exit, so another server replays the same load. The warm-up, if any, is not part of it.")
    Path writeSchedule;

    @Override
    public Integer call() throws Exception {
        final Slo slo = Slo.ofMillis(sloTtftMs, sloTpotMs);
        if (!(durationSeconds > 0) || !(drainSeconds >= 0) || !(warmupSeconds >= 0)
                || (maxRequests != null && maxRequests <= 0)) {
            throw new ParameterException(spec.commandLine(),
                    "--duration and --requests must be positive, --drain-timeout and --warmup not negative");
        }
        final RunSettings settings = new RunSettings().slo(slo).label(label)
                .durationNs((long) (durationSeconds * 1e9)).drainTimeoutNs((long) (drainSeconds * 1e9))
                .maxRequests(maxRequests == null ? Integer.MAX_VALUE : maxRequests).validate();
        final Path modelDir = model != null ? model : DemoModel.ensure(DemoModel.defaultLocation());
        final Tokenizer tokenizer = Tokenizer.load(modelDir.resolve("tokenizer.json"));
        final Supplier<Workload> workloads = workloads(tokenizer, seed);
        final Workload first = workloads.get();
        final Path outDir = out != null ? out
                : Path.of("load-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        final String command = "splitserve " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
        final PrintWriter stdout = spec.commandLine().getOut();

        if (writeSchedule != null) {
            writeSchedule(first, settings, stdout);
            return 0;
        }
        if (target == null) {
            throw new ParameterException(spec.commandLine(),
                    "load needs a target: --aeron-dir DIR, --http URL or --embedded (or --write-schedule FILE)");
        }
        if (viaHttp && !target.embedded) {
            throw new ParameterException(spec.commandLine(), "--via-http goes with --embedded; use --http URL for a running serve");
        }
        ServingSystem system = null;
        HttpShim shim = null;
        try {
            final LoadTarget loadTarget;
            if (target.embedded) {
                system = ServingSystem.start(new ServingSystem.Options().modelDir(modelDir).colocated(colocated)
                        .prefillNodes(prefillNodes).decodeNodes(decodeNodes).prefixCaching(prefixCaching)
                        .heartbeatTimeoutNs(TimeUnit.MILLISECONDS.toNanos(heartbeatTimeoutMs)));
                if (viaHttp) {
                    shim = new HttpShim(system.router(), new HttpShimContext().port(0));
                    loadTarget = new HttpLoadTarget("http://127.0.0.1:" + shim.port(), modelName);
                } else {
                    loadTarget = new AeronLoadTarget(SplitServeClient.connect(new ClientContext(), system.aeron()),
                            modelName, true);
                }
            } else if (target.aeronDir != null) {
                loadTarget = new AeronLoadTarget(connect(target.aeronDir), modelName, true);
            } else {
                loadTarget = new HttpLoadTarget(target.http, modelName);
            }
            try (loadTarget) {
                if (warmupSeconds > 0) {
                    warmUp(loadTarget, workloads(tokenizer, seed + 1).get(), slo);
                }
                if (pattern.sweep != null) {
                    final RateSweep.Result sweep = Bench.sweepAndReport(loadTarget, workloads, seed, pattern.sweep,
                            refine, attainment, settings, outDir, ReportHeader.of(command, loadTarget, null, first));
                    for (RunResult r : sweep.runs()) {
                        summary(stdout, r);
                    }
                    stdout.printf(Locale.ROOT, "highest rate holding %.0f%% SLO attainment: %s%n", 100 * attainment,
                            sweep.best() == null ? "none" : String.format(Locale.ROOT, "%.3f requests/s", sweep.bestRate()));
                    stdout.println("report: " + outDir.resolve("sweep.md"));
                } else {
                    final LoadPattern loadPattern = pattern.rate != null ? new OpenLoop(pattern.rate, seed)
                            : new ClosedLoop(pattern.users);
                    final ServingSystem served = system;
                    final Callable<String> metrics = served != null ? () -> served.router().metricsText().get()
                            : target.http != null ? () -> httpMetrics(target.http) : null;
                    final PrefixCacheCounters before = metricsOrNull(metrics);
                    final RunResult r = Bench.runAndReport(loadTarget, first, loadPattern, settings, outDir,
                            ReportHeader.of(command, loadTarget, loadPattern, first));
                    summary(stdout, r);
                    final PrefixCacheCounters after = metricsOrNull(metrics);
                    if (before != null && after != null) {
                        // the servers' counters: an embedded system's router, or a remote one's /metrics
                        final PrefixCacheCounters cache = after.since(before);
                        Files.writeString(outDir.resolve(Bench.REPORT), "\n" + cache.markdown(),
                                StandardOpenOption.APPEND);
                        stdout.printf(Locale.ROOT, "prefix cache: %d of %d prompt tokens found cached (%.1f%%),"
                                + " %d evictions%n", cache.hitTokens(), cache.lookupTokens(), 100 * cache.hitRate(),
                                cache.evictions());
                        if (cache.kvTransfers() > 0) {
                            stdout.printf(Locale.ROOT, "KV transfers: %d, %d bytes per transfer%n", cache.kvTransfers(),
                                    cache.kvBytes() / cache.kvTransfers());
                        }
                    }
                    stdout.println("report: " + outDir.resolve(Bench.REPORT));
                }
            }
        } finally {
            CloseHelper.closeAll(shim, system);
        }
        stdout.flush();
        return 0;
    }

    /** The servers' counters from {@code metrics}, or null when there is no source or it cannot be read now. */
    private static PrefixCacheCounters metricsOrNull(Callable<String> metrics) {
        if (metrics == null) {
            return null;
        }
        try {
            return PrefixCacheCounters.parse(metrics.call());
        } catch (Exception e) {
            return null; // a server without /metrics (or one gone): the report goes without the section
        }
    }

    /** The router's metrics text at {@code baseUrl}/metrics. */
    private static String httpMetrics(String baseUrl) throws IOException, InterruptedException {
        final String base = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        final HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(base + "/metrics")).timeout(java.time.Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("GET " + base + "/metrics answered " + response.statusCode());
        }
        return response.body();
    }

    /** Writes the plan the open loop would send, instead of sending it. */
    private void writeSchedule(Workload workload, RunSettings settings, PrintWriter stdout) {
        if (pattern.rate == null) {
            throw new ParameterException(spec.commandLine(),
                    "--write-schedule writes an open-loop schedule: use it with --rate R, not --users or --sweep");
        }
        final OpenLoop openLoop = new OpenLoop(pattern.rate, seed);
        final ScheduledRequest[] plan = openLoop.plan(workload, settings);
        try {
            ScheduleFile.write(writeSchedule, openLoop.ratePerSecond(), settings.durationNs(), plan);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write the schedule to " + writeSchedule + ": " + e);
        }
        stdout.printf(Locale.ROOT, "wrote %d requests (%s; %s) to %s%n", plan.length, openLoop.describe(),
                workload.describe(), writeSchedule);
        stdout.flush();
    }

    /** The Aeron client of a running serve; an unreachable one is the user's mistake, told in one line. */
    private static SplitServeClient connect(String aeronDir) {
        try {
            return SplitServeClient.connect(new ClientContext().aeronDirectoryName(aeronDir));
        } catch (AeronException | SplitServeException e) {
            throw new IllegalArgumentException("cannot reach a serve through the media driver at " + aeronDir + ": "
                    + e.getMessage());
        }
    }

    private void warmUp(LoadTarget loadTarget, Workload workload, Slo slo) throws InterruptedException {
        final LoadPattern warmPattern = pattern.sweep != null
                ? new OpenLoop(Arrays.stream(pattern.sweep).min().orElseThrow(), seed + 1)
                : pattern.rate != null ? new OpenLoop(pattern.rate, seed + 1) : new ClosedLoop(pattern.users);
        final RunResult warm = warmPattern.run(loadTarget, workload, new RunSettings().slo(slo).label("warm-up")
                .durationNs((long) (warmupSeconds * 1e9)).drainTimeoutNs((long) (drainSeconds * 1e9)));
        summary(spec.commandLine().getOut(), warm);
    }

    /** A fresh workload per run, so every rate of a sweep replays the same requests. */
    private Supplier<Workload> workloads(Tokenizer tokenizer, long seed) {
        if (workload.startsWith("journal:")) {
            final Path journal = Path.of(workload.substring("journal:".length()));
            return () -> new JournalWorkload(journal, tokenizer);
        }
        final PromptFactory prompts = new PromptFactory(tokenizer);
        if (SharedPrefixWorkload.isNamed(workload)) {
            return () -> new SharedPrefixWorkload(workload, prompts, lengthScale, seed);
        }
        final WorkloadMix mix = WorkloadMix.named(workload, promptTokens, outputTokens).scaled(lengthScale);
        return () -> new SyntheticWorkload(mix, prompts, seed);
    }

    private static void summary(PrintWriter out, RunResult r) {
        final LatencySummary ttft = LatencySummary.of(r.ttft());
        final LatencySummary tpot = LatencySummary.of(r.tpot());
        out.printf(Locale.ROOT, "%s: %d sent, %d completed, %d failed %s; %.3f req/s, %.1f generated tok/s; "
                        + "TTFT P50 %.1f P99 %.1f ms; TPOT P50 %.2f P99 %.2f ms; goodput %.3f req/s (%.1f%% attainment)%n",
                r.label(), r.submitted(), r.completed(), r.errorCount(), r.errors().isEmpty() ? "" : r.errors(),
                r.requestsPerSecond(), r.generatedTokensPerSecond(), ttft.p50Ms(), ttft.p99Ms(), tpot.p50Ms(),
                tpot.p99Ms(), r.goodput(), 100 * r.attainment());
    }
}
