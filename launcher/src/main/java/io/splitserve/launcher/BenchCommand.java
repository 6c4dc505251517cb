package io.splitserve.launcher;

import io.splitserve.engine.Backend;
import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.perf.engine.EngineThroughput;
import io.splitserve.perf.kernels.KernelBenchmark;
import io.splitserve.perf.kv.KvPathBenchmark;
import io.splitserve.perf.kv.KvStreamBenchmark;
import io.splitserve.perf.kv.KvTransferBenchmark;
import io.splitserve.perf.runner.RunnerBenchmark;
import io.splitserve.perf.runner.RunnerCheck;
import io.splitserve.perf.runner.RunnerLongContext;
import io.splitserve.perf.runner.RunnerProfile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/**
 * {@code splitserve bench <kind>}: the one entry point of every benchmark, so each runs from the published jars (the
 * runnable jar, or every module jar on a class path) and never from a module's test classes. The kinds: {@code load}
 * (the load generator), {@code router} (throughput and the router's latency per token, through the load generator),
 * and thin typed fronts for the benchmarks in {@code perf}: {@code kernels}, {@code runner}, {@code runner-check},
 * {@code runner-profile}, {@code runner-long}, {@code engine}, {@code kv-stream}, {@code kv-path}, {@code kv-transfer}. Bad arguments end with a one-line
 * error: exit status 2 for a malformed command line, 1 for one that cannot run here (e.g. a GPU kind without a GPU).
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Benchmarks; `bench <kind> --help` tells each kind's arguments.",
    commandListHeading = "%nKinds:%n",
    subcommands = {LoadCommand.class, RouterLatencyCommand.class, BenchCommand.Kernels.class, BenchCommand.Runner.class,
        BenchCommand.RunnerCheckKind.class, BenchCommand.RunnerProfileKind.class, BenchCommand.RunnerLong.class, BenchCommand.EngineKind.class,
        BenchCommand.KvStream.class, BenchCommand.KvPathKind.class, BenchCommand.KvTransfer.class})
final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "bench needs a kind: " + String.join(", ", spec.subcommands().keySet()));
    }

    /** A GPU kind refuses to start, in one line, where the CUDA backend cannot run. */
    private static void requireGpu(String kind) {
        final String reason = CudaDevice.unavailableReason();
        if (reason != null) {
            throw new IllegalArgumentException("bench " + kind + " needs a GPU: " + reason);
        }
    }

    private static void requirePositive(CommandSpec spec, String option, int value) {
        if (value <= 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), option + " must be positive, got " + value);
        }
    }

    @Command(name = "kernels", mixinStandardHelpOptions = true,
        description = "GPU kernels on GPU 0 (copy bandwidth, cuBLAS GEMM, prefill and decode attention, sampling), the Java half"
            + " of perf/gpu/torch_bench.py; rows bench,case,ms,metric,unit to OUT.csv.")
    static final class Kernels implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "OUT.csv", description = "Where the rows go.")
        Path csv;

        @Option(names = "--sections", paramLabel = "S1,S2", split = ",",
            description = "Sections to time, a subset of copy,gemm,prefill,decode,decode-sweep,sampling (default: the first four).")
        List<String> sections = new ArrayList<>(KernelBenchmark.DEFAULT_SECTIONS);

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            if (!KernelBenchmark.SECTIONS.containsAll(sections)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--sections takes a subset of "
                        + String.join(",", KernelBenchmark.SECTIONS) + ", got " + String.join(",", sections));
            }
            requireGpu("kernels");
            KernelBenchmark.run(csv, sections);
            return 0;
        }
    }

    @Command(name = "runner", mixinStandardHelpOptions = true,
        description = "The CUDA model runner on GPU 0 (prefill 40x600, decode 40x(600,600), single stream, step time by"
            + " batch), the half of perf/gpu/hf_bench.py; rows bench,case,value,unit to OUT.csv.")
    static final class Runner implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "Hugging Face model directory.")
        Path model;

        @Parameters(index = "1", paramLabel = "OUT.csv", description = "Where the rows go.")
        Path csv;

        @Option(names = "--eager", description = "Launch every kernel eagerly instead of replaying decode steps from CUDA graphs.")
        boolean eager;

        @Override
        public Integer call() throws Exception {
            requireGpu("runner");
            RunnerBenchmark.run(model, csv, !eager);
            return 0;
        }
    }

    @Command(name = "runner-long", mixinStandardHelpOptions = true,
        description = "Long prompts on the CUDA runner on GPU 0: time to first token through chunked prefill, then decode"
            + " steps at that context, the half of perf/gpu/hf_bench.py's long setup; rows bench,case,value,unit to OUT.csv.")
    static final class RunnerLong implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "Hugging Face model directory.")
        Path model;

        @Parameters(index = "1", paramLabel = "OUT.csv", description = "Where the rows go.")
        Path csv;

        @Option(names = "--contexts", paramLabel = "N1,N2", split = ",", defaultValue = "32768,131072",
            description = "Prompt lengths in tokens (default: ${DEFAULT-VALUE}).")
        int[] contexts;

        @Option(names = "--chunk", paramLabel = "N", defaultValue = "8192",
            description = "Prefill chunk (the prefill token budget) in tokens (default: ${DEFAULT-VALUE}).")
        int chunk;

        @Option(names = "--steps", paramLabel = "N", defaultValue = "64",
            description = "Tokens generated at each context (default: ${DEFAULT-VALUE}).")
        int steps;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            for (int c : contexts) {
                requirePositive(spec, "--contexts", c);
            }
            requirePositive(spec, "--chunk", chunk);
            if (steps < 2) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--steps must be at least 2, got " + steps);
            }
            requireGpu("runner-long");
            RunnerLongContext.run(model, csv, contexts, chunk, steps);
            return 0;
        }
    }

    @Command(name = "runner-check", mixinStandardHelpOptions = true,
        description = "The CUDA model runner against transformers' logits in a golden directory written by"
            + " perf/gpu/hf_models.py; exit status 1 when a cosine-similarity bound is missed.")
    static final class RunnerCheckKind implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "Hugging Face model directory.")
        Path model;

        @Parameters(index = "1", paramLabel = "GOLDEN_DIR", description = "golden.json and logits.safetensors.")
        Path golden;

        @Option(names = "--prefill-chunk", paramLabel = "N", defaultValue = "0",
            description = "Prefill prompts in chunks of at most N tokens each (default: whole prompts).")
        int prefillChunk;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            if (prefillChunk < 0) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--prefill-chunk must be 0 (whole prompts) or positive, got " + prefillChunk);
            }
            requireGpu("runner-check");
            return RunnerCheck.run(model, golden, prefillChunk);
        }
    }

    @Command(name = "runner-profile", mixinStandardHelpOptions = true,
        description = "A fixed workload for a kernel profiler (perf/gpu/ncu_step.py): prefill, then eager decode steps.")
    static final class RunnerProfileKind implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "Hugging Face model directory.")
        Path model;

        @Option(names = "--batch", paramLabel = "N", defaultValue = "1", description = "Sequences (default: ${DEFAULT-VALUE}).")
        int batch;

        @Option(names = "--context", paramLabel = "N", defaultValue = "1024", description = "Prompt tokens each (default: ${DEFAULT-VALUE}).")
        int context;

        @Option(names = "--steps", paramLabel = "N", defaultValue = "3", description = "Eager decode steps (default: ${DEFAULT-VALUE}).")
        int steps;

        @Option(names = "--sampled", description = "Sample at temperature 0.7, top-p 0.9 (a seed per sequence) instead of greedily.")
        boolean sampled;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            requirePositive(spec, "--batch", batch);
            requirePositive(spec, "--context", context);
            requirePositive(spec, "--steps", steps);
            requireGpu("runner-profile");
            RunnerProfile.run(model, batch, context, steps, sampled);
            return 0;
        }
    }

    @Command(name = "engine", mixinStandardHelpOptions = true,
        description = "The decode workload through the engine alone (no network, router or client): N prompts of P"
            + " tokens at once, T new tokens each; prints generated tokens/s per round.")
    static final class EngineKind implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "Hugging Face model directory.")
        Path model;

        @Option(names = "--prompts", paramLabel = "N", defaultValue = "40", description = "Prompts (default: ${DEFAULT-VALUE}).")
        int prompts;

        @Option(names = "--prompt-tokens", paramLabel = "P", defaultValue = "600", description = "Tokens per prompt (default: ${DEFAULT-VALUE}).")
        int promptTokens;

        @Option(names = "--new-tokens", paramLabel = "T", defaultValue = "600", description = "New tokens per prompt (default: ${DEFAULT-VALUE}).")
        int newTokens;

        @Option(names = "--backend", paramLabel = "NAME", defaultValue = "cuda", description = "cpu or cuda (default: ${DEFAULT-VALUE}).")
        String backend;

        @Option(names = "--max-running", paramLabel = "N", defaultValue = "128", description = "Most sequences per step (default: ${DEFAULT-VALUE}).")
        int maxRunning;

        @Option(names = "--rounds", paramLabel = "N", defaultValue = "2", description = "Rounds; earlier ones warm up (default: ${DEFAULT-VALUE}).")
        int rounds;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            requirePositive(spec, "--prompts", prompts);
            requirePositive(spec, "--prompt-tokens", promptTokens);
            requirePositive(spec, "--new-tokens", newTokens);
            requirePositive(spec, "--max-running", maxRunning);
            requirePositive(spec, "--rounds", rounds);
            final Backend chosen;
            try {
                chosen = Backend.parse(backend);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            if (chosen == Backend.AUTO) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--backend must be cpu or cuda: a benchmark names what it measures");
            }
            if (chosen == Backend.CUDA) {
                requireGpu("engine --backend cuda");
            }
            EngineThroughput.run(model, prompts, promptTokens, newTokens, chosen, maxRunning, rounds);
            return 0;
        }
    }

    @Command(name = "kv-stream", mixinStandardHelpOptions = true,
        description = {"What streaming a prompt's KV from a prefill engine into a decode engine costs, per prompt"
            + " length (compute, ready, exposed, transfer, import; peer copy between two GPUs on CUDA).",
            KvStreamBenchmark.USAGE})
    static final class KvStream implements Callable<Integer> {
        @Unmatched
        List<String> args = new ArrayList<>();

        @Override
        public Integer call() {
            return KvStreamBenchmark.run(args.toArray(String[]::new), System.out, System.err);
        }
    }

    @Command(name = "kv-path", mixinStandardHelpOptions = true,
        description = {"The KV path from a prefill engine to a decode engine in a process of its own, per prompt length"
            + " and path (GPU: device to device through CUDA IPC; host: over Aeron IPC): first token, ready, exposed,"
            + " transfer beside a device copy, and a greedy check.",
            KvPathBenchmark.USAGE})
    static final class KvPathKind implements Callable<Integer> {
        @Unmatched
        List<String> args = new ArrayList<>();

        @Override
        public Integer call() {
            return KvPathBenchmark.run(args.toArray(String[]::new), System.out, System.err);
        }
    }

    @Command(name = "kv-transfer", mixinStandardHelpOptions = true,
        description = {"KV transfer throughput and latency over Aeron IPC and UDP loopback beside memcpy and CRC32C,"
            + " with Llama-3-8B-shaped KV; a Markdown report.",
            KvTransferBenchmark.USAGE})
    static final class KvTransfer implements Callable<Integer> {
        @Unmatched
        List<String> args = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            return KvTransferBenchmark.run(args.toArray(String[]::new), System.out, System.err);
        }
    }
}
