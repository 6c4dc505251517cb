package io.splitserve.launcher;

import io.splitserve.client.ClientContext;
import io.splitserve.client.SplitServeClient;
import io.splitserve.perf.load.AeronLoadTarget;
import io.splitserve.perf.load.Bench;
import io.splitserve.perf.load.ClosedLoop;
import io.splitserve.perf.load.HttpLoadTarget;
import io.splitserve.perf.load.LoadTarget;
import io.splitserve.perf.load.PromptFactory;
import io.splitserve.perf.load.ReportHeader;
import io.splitserve.perf.load.RunResult;
import io.splitserve.perf.load.RunSettings;
import io.splitserve.perf.load.SyntheticWorkload;
import io.splitserve.perf.load.WorkloadMix;
import io.splitserve.router.HttpShim;
import io.splitserve.router.HttpShimContext;
import io.splitserve.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code splitserve bench router}: a one-JVM {@code serve} system under the load generator's closed loop (the same
 * {@link ClosedLoop}, workload and load targets as {@code bench load}): sustained requests/s and generated tokens/s
 * over Aeron IPC, and the router's added latency per token over the Aeron client and over HTTP SSE: every token after
 * the first (which is the prefill node's) timed from the decode node's sampling to the client's receipt, in an
 * HdrHistogram. A warm-up of a quarter of the duration runs first, unmeasured.
 */
@Command(
    name = "router",
    mixinStandardHelpOptions = true,
    description = "Throughput of an in-JVM serve under closed-loop load, and the router's added latency per token"
        + " (decode node sampling -> client receipt) over Aeron IPC and HTTP.")
final class RouterLatencyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--clients", paramLabel = "N", defaultValue = "8",
        description = "Concurrent closed-loop clients (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "20",
        description = "Duration of each measured phase (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--prompt-tokens", paramLabel = "N", defaultValue = "16",
        description = "Prompt length of every request (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "64",
        description = "Tokens generated per request, end-of-sequence ignored (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--prefill-nodes", paramLabel = "N", defaultValue = "1", description = "Prefill nodes (default: ${DEFAULT-VALUE}).")
    int prefillNodes;

    @Option(names = "--decode-nodes", paramLabel = "M", defaultValue = "1", description = "Decode nodes (default: ${DEFAULT-VALUE}).")
    int decodeNodes;

    @Option(names = "--colocated", description = "Measure the colocated baseline instead.")
    boolean colocated;

    @Override
    public Integer call() throws Exception {
        for (int[] value : new int[][] {{clients}, {seconds}, {promptTokens}, {maxTokens}, {prefillNodes}, {decodeNodes}}) {
            if (value[0] <= 0) {
                throw new ParameterException(spec.commandLine(), "--clients, --seconds, --prompt-tokens, --max-tokens,"
                        + " --prefill-nodes and --decode-nodes must be positive");
            }
        }
        final Path dir = modelOptions.modelDir();
        final PrintWriter out = spec.commandLine().getOut();
        final WorkloadMix mix = WorkloadMix.fixed(promptTokens, maxTokens);
        final PromptFactory prompts = new PromptFactory(Tokenizer.load(dir.resolve("tokenizer.json")));
        final ServingSystem.Options options = new ServingSystem.Options().modelDir(dir)
                .modelName(modelOptions.servedName(dir)).prefillNodes(prefillNodes).decodeNodes(decodeNodes)
                .colocated(colocated).pageSize(modelOptions.pageSize)
                .kvCacheBytes(modelOptions.kvBytesPerNode(dir, prefillNodes + decodeNodes))
                .routerSettings(ctx -> ctx.maxQueuedRequests(Math.max(256, clients * 2)));
        final Recorder overAeron = new Recorder(3);
        final Recorder overHttp = new Recorder(3);
        final RunResult aeronRun;
        try (ServingSystem system = ServingSystem.start(options);
             AeronLoadTarget aeron = new AeronLoadTarget(SplitServeClient.connect(new ClientContext()
                     .requestTimeoutNs(TimeUnit.MINUTES.toNanos(5)), system.aeron()), "", true);
             HttpShim shim = new HttpShim(system.router(), new HttpShimContext().port(0));
             HttpLoadTarget http = new HttpLoadTarget("http://127.0.0.1:" + shim.port(), "")) {
            run(aeron, new SyntheticWorkload(mix, prompts, 2), Math.max(1, seconds / 4), "warm-up");
            aeron.recordRouterDelay(overAeron);
            aeronRun = run(aeron, new SyntheticWorkload(mix, prompts, 1), seconds, "aeron");
            http.recordRouterDelay(overHttp);
            run(http, new SyntheticWorkload(mix, prompts, 1), seconds, "http");
        }
        out.printf(Locale.ROOT, "setup: %s, %d clients, %d prompt tokens and %d generated tokens per request%n",
                colocated ? decodeNodes + " colocated node(s)" : prefillNodes + " prefill + " + decodeNodes
                        + " decode node(s)", clients, promptTokens, maxTokens);
        out.printf(Locale.ROOT, "sustained over Aeron IPC: %.2f requests/s, %.1f generated tokens/s (%d requests in %d s,"
                        + " %d failed)%n", aeronRun.requestsPerSecond(), aeronRun.generatedTokensPerSecond(),
                aeronRun.completed(), seconds, aeronRun.errorCount());
        out.println();
        out.println("| router added latency per token (us) | count | p50 | p90 | p99 | p99.9 | max |");
        out.println("|---|---|---|---|---|---|---|");
        row(out, "Aeron IPC client", overAeron.getIntervalHistogram());
        row(out, "HTTP SSE client", overHttp.getIntervalHistogram());
        out.flush();
        return 0;
    }

    /** One closed-loop phase of the load generator, measured only (no report files). */
    private RunResult run(LoadTarget target, SyntheticWorkload workload, int phaseSeconds, String label)
            throws InterruptedException {
        final ClosedLoop loop = new ClosedLoop(clients);
        final RunSettings settings = new RunSettings().label(label).durationNs(TimeUnit.SECONDS.toNanos(phaseSeconds))
                .validate();
        return Bench.runAndReport(target, workload, loop, settings, null,
                ReportHeader.of("splitserve bench router", target, loop, workload));
    }

    private static void row(PrintWriter out, String name, Histogram h) {
        out.printf(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f |%n", name, h.getTotalCount(),
                h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(90) / 1e3, h.getValueAtPercentile(99) / 1e3,
                h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3);
    }
}
