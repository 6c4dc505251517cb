package io.splitserve.launcher;

import io.splitserve.client.ClientContext;
import io.splitserve.client.Completion;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.router.HttpShim;
import io.splitserve.router.HttpShimContext;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code splitserve serve}: router + prefill nodes + decode nodes in one JVM over IPC, with the HTTP shim. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
        "Serve a model with a router, N prefill nodes and M decode nodes in one JVM (Aeron IPC over an embedded media"
            + " driver), behind an OpenAI-compatible HTTP API and the Aeron client ingress.",
        "With --demo-request it sends that one prompt through the system, prints the answer and exits."})
final class ServeCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Mixin
    RouterOptions routerOptions;

    @Option(names = "--prefill-nodes", paramLabel = "N", defaultValue = "1",
        description = "Prefill nodes (default: ${DEFAULT-VALUE}).")
    int prefillNodes;

    @Option(names = "--decode-nodes", paramLabel = "M", defaultValue = "1",
        description = "Decode nodes, or colocated nodes with --colocated (default: ${DEFAULT-VALUE}).")
    int decodeNodes;

    @Option(names = "--colocated",
        description = "No disaggregation: each node prefills (chunked, within the prefill budget) and decodes; the baseline.")
    boolean colocated;

    @Option(names = "--max-batch-size", paramLabel = "N", defaultValue = "64",
        description = "Most sequences a decode node steps at once (default: ${DEFAULT-VALUE}).")
    int maxBatchSize;

    @Option(names = "--prefill-token-budget", paramLabel = "N", defaultValue = "2048",
        description = "Prompt tokens prefilled in one batch (default: ${DEFAULT-VALUE}).")
    int prefillTokenBudget;

    @Option(names = "--aeron-dir", paramLabel = "DIR",
        description = "Directory of the embedded media driver (Aeron clients of this JVM's IPC connect to it)."
            + " Default: a fresh directory under the temp dir.")
    String aeronDir;

    @Option(names = "--demo-request", paramLabel = "TEXT",
        description = "Send this prompt (greedy) through the system, print the answer and exit.")
    String demoRequest;

    @Option(names = "--prefill-gpu", paramLabel = "N[,N...]", split = ",",
        description = "GPU ordinals the prefill nodes take in turn on the CUDA backend (default: --gpu).")
    int[] prefillGpu;

    @Option(names = "--decode-gpu", paramLabel = "N[,N...]", split = ",",
        description = "GPU ordinals the decode (or colocated) nodes take in turn on the CUDA backend, e.g."
            + " --colocated --decode-nodes 2 --decode-gpu 0,1 for one node per GPU; may name the prefill GPU"
            + " (default: --gpu).")
    int[] decodeGpu;

    @Option(names = "--kv-import", paramLabel = "MODE", defaultValue = "layers",
        description = "How decode nodes move received KV into their pages: layers (each layer as soon as it has"
            + " arrived, while later ones are still on the way) or whole (all layers when the sequence is admitted)"
            + " (default: ${DEFAULT-VALUE}).")
    String kvImport;

    @Mixin
    KvPathOption kvPath;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "40",
        description = "Tokens to generate for --demo-request (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Override
    public Integer call() throws Exception {
        if (prefillNodes < 1 || decodeNodes < 1 || maxBatchSize < 1 || prefillTokenBudget < 1) {
            throw new IllegalArgumentException("--prefill-nodes, --decode-nodes, --max-batch-size and"
                    + " --prefill-token-budget must be at least 1");
        }
        if (IntStream.concat(stream(prefillGpu), stream(decodeGpu)).anyMatch(gpu -> gpu < 0)) {
            throw new IllegalArgumentException("--prefill-gpu and --decode-gpu must be 0 or more");
        }
        if (!kvImport.equals("layers") && !kvImport.equals("whole")) {
            throw new IllegalArgumentException("--kv-import must be layers or whole, got '" + kvImport + "'");
        }
        final Path dir = modelOptions.modelDir();
        final String name = modelOptions.servedName(dir);
        final int nodes = colocated ? decodeNodes : prefillNodes + decodeNodes;
        final ServingSystem.Options options = new ServingSystem.Options().modelDir(dir).modelName(name)
                .aeronDir(aeronDir).prefillNodes(prefillNodes).decodeNodes(decodeNodes).colocated(colocated)
                .pageSize(modelOptions.pageSize).kvCacheBytes(modelOptions.kvBytesPerNode(dir, nodes))
                .maxBatchSize(maxBatchSize).prefillTokenBudget(prefillTokenBudget)
                .backend(modelOptions.backend()).gpuMemFraction(modelOptions.gpuMemFraction())
                .prefillGpu(prefillGpu != null ? prefillGpu : new int[] {modelOptions.gpu})
                .decodeGpu(decodeGpu != null ? decodeGpu : new int[] {modelOptions.gpu})
                .kvLayerImport(kvImport.equals("layers"))
                .kvPath(kvPath.mode())
                .prefixCaching(routerOptions.prefixCaching)
                .routerSettings(routerOptions::apply);
        final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        if (demoRequest != null) {
            try (ServingSystem system = ServingSystem.start(options)) {
                return demo(system, out);
            }
        }
        try (ShutdownSignal shutdown = new ShutdownSignal(); ServingSystem system = ServingSystem.start(options)) {
            try (HttpShim http = new HttpShim(system.router(), routerOptions.httpContext())) {
                out.println("splitserve: serving '" + name + "' with " + (colocated ? decodeNodes + " colocated"
                        : prefillNodes + " prefill + " + decodeNodes + " decode") + " nodes");
                out.println("  HTTP (OpenAI-compatible): http://" + routerOptions.host + ":" + http.port() + "/v1");
                out.println("  Aeron IPC: driver " + system.aeronDirectoryName() + ", ingress stream "
                        + routerOptions.ingressStreamId + ", egress stream " + routerOptions.egressStreamId);
                shutdown.await();
            }
        }
        return 0;
    }

    private static IntStream stream(int[] gpus) {
        return gpus == null ? IntStream.empty() : IntStream.of(gpus);
    }

    private int demo(ServingSystem system, PrintStream out) {
        final ClientContext ctx = new ClientContext().requestTimeoutNs(TimeUnit.MINUTES.toNanos(5))
                .ingressChannel(routerOptions.ingressChannel).ingressStreamId(routerOptions.ingressStreamId)
                .egressChannel(routerOptions.egressChannel).egressStreamId(routerOptions.egressStreamId);
        try (SplitServeClient client = SplitServeClient.connect(ctx, system.aeron())) {
            final Completion completion = client.generate(new GenerateOptions("", demoRequest, false, maxTokens, 0f,
                    1f, 0, 0, List.of(), false));
            out.println(demoRequest + completion.text());
            System.err.println("(" + completion.completionTokens() + " tokens, finish reason "
                    + completion.finishReason().name().toLowerCase() + "; prompt " + completion.promptTokens()
                    + " tokens; prefill and decode on separate nodes over Aeron IPC)");
        }
        return 0;
    }
}
