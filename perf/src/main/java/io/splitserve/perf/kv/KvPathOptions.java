package io.splitserve.perf.kv;

import io.splitserve.engine.Backend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The KV path benchmark's command line as a context object with defaults: the CUDA backend, prefill on GPU 0 and
 * decode on the same GPU, both paths (GPU then host), prompt lengths 128, 600, 2048 and 8192 tokens, 5 measured
 * repetitions, 8 greedy tokens checked. {@link #parse} accepts only well-formed values and says in one line what is
 * wrong with any other; a GPU path asked of the CPU backend is such a malformed line.
 */
final class KvPathOptions {
    static final String USAGE = "usage: splitserve bench kv-path MODEL_DIR OUT.csv [--backend cuda|cpu] [--gpu 0]"
            + " [--decode-gpu N (default: --gpu)] [--paths gpu,host] [--lengths 128,600,2048,8192] [--reps 5]"
            + " [--check-steps 8] [--warmup 1]";

    /** How the KV of one transfer travels from the prefill engine to the decode process. */
    enum KvPath {
        /** Copied device to device out of the prefill engine's export arena (CUDA IPC), announced over Aeron. */
        GPU,
        /** Copied to the host by the prefill engine and streamed over Aeron IPC. */
        HOST;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private Path modelDir;
    private Path csv;
    private Backend backend = Backend.CUDA;
    private int gpu;
    private int decodeGpu = -1;
    private List<KvPath> paths = List.of(KvPath.GPU, KvPath.HOST);
    private int[] lengths = {128, 600, 2048, 8192};
    private int reps = 5;
    private int warmup = 1;
    private int checkSteps = 8;

    /** @throws IllegalArgumentException naming the first bad or missing argument. */
    static KvPathOptions parse(String[] args) {
        final KvPathOptions options = new KvPathOptions();
        int positional = 0;
        for (int i = 0; i < args.length; i++) {
            final String arg = args[i];
            if (!arg.startsWith("--")) {
                if (positional == 0) {
                    options.modelDir = Path.of(arg);
                } else if (positional == 1) {
                    options.csv = Path.of(arg);
                } else {
                    throw new IllegalArgumentException("unexpected argument '" + arg + "'");
                }
                positional++;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(arg + " needs a value");
            }
            final String value = args[++i];
            switch (arg) {
                case "--backend" -> options.backend = backend(value);
                case "--gpu" -> options.gpu = nonNegative(arg, value);
                case "--decode-gpu" -> options.decodeGpu = nonNegative(arg, value);
                case "--paths" -> options.paths = paths(value);
                case "--lengths" -> options.lengths = lengths(value);
                case "--reps" -> options.reps = positive(arg, value);
                case "--warmup" -> options.warmup = positive(arg, value);
                case "--check-steps" -> options.checkSteps = positive(arg, value);
                default -> throw new IllegalArgumentException("unknown option " + arg);
            }
        }
        if (positional < 2) {
            throw new IllegalArgumentException("MODEL_DIR and OUT.csv are required");
        }
        if (!Files.isDirectory(options.modelDir)) {
            throw new IllegalArgumentException("model directory not found: " + options.modelDir);
        }
        if (options.backend == Backend.CPU && options.paths.contains(KvPath.GPU)) {
            throw new IllegalArgumentException("the GPU path needs --backend cuda; on the CPU measure --paths host");
        }
        return options;
    }

    private static Backend backend(String value) {
        final Backend backend = Backend.parse(value);
        if (backend == Backend.AUTO) {
            throw new IllegalArgumentException("--backend must be cpu or cuda: a benchmark names what it measures");
        }
        return backend;
    }

    private static List<KvPath> paths(String value) {
        final List<KvPath> paths = new ArrayList<>();
        for (String part : value.split(",")) {
            final KvPath path = switch (part.trim()) {
                case "gpu" -> KvPath.GPU;
                case "host" -> KvPath.HOST;
                default -> throw new IllegalArgumentException("--paths takes gpu and/or host, got '" + part + "'");
            };
            if (paths.contains(path)) {
                throw new IllegalArgumentException("--paths lists " + path.label() + " twice: " + value);
            }
            paths.add(path);
        }
        return List.copyOf(paths);
    }

    private static int[] lengths(String value) {
        final String[] parts = value.split(",");
        final int[] lengths = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            lengths[i] = positive("--lengths", parts[i].trim());
        }
        if (Arrays.stream(lengths).distinct().count() != lengths.length) {
            throw new IllegalArgumentException("--lengths lists a length twice: " + value);
        }
        return lengths;
    }

    private static int positive(String option, String value) {
        final int n = integer(option, value);
        if (n <= 0) {
            throw new IllegalArgumentException(option + " must be positive, got " + value);
        }
        return n;
    }

    private static int nonNegative(String option, String value) {
        final int n = integer(option, value);
        if (n < 0) {
            throw new IllegalArgumentException(option + " must be 0 or more, got " + value);
        }
        return n;
    }

    private static int integer(String option, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " takes whole numbers, got '" + value + "'");
        }
    }

    Path modelDir() {
        return modelDir;
    }

    Path csv() {
        return csv;
    }

    Backend backend() {
        return backend;
    }

    /** The prefill engine's GPU (CUDA only). */
    int gpu() {
        return gpu;
    }

    /** The decode process's GPU (CUDA only): the prefill engine's unless given. */
    int decodeGpu() {
        return decodeGpu < 0 ? gpu : decodeGpu;
    }

    /** The paths measured, alternating in this order within each repetition. */
    List<KvPath> paths() {
        return paths;
    }

    /** Prompt lengths in tokens, in the order given. */
    int[] lengths() {
        return lengths.clone();
    }

    /** Measured repetitions per length, path and quantity; the reported figure is their median. */
    int reps() {
        return reps;
    }

    /** Unmeasured runs of each path per length before the measured ones (at least 1: it also checks tokens). */
    int warmup() {
        return warmup;
    }

    /** Greedy tokens compared with the prefill engine's own continuation, the first (sampled at prefill) included. */
    int checkSteps() {
        return checkSteps;
    }
}
