package io.splitserve.perf.kv;

import io.splitserve.engine.Backend;
import java.nio.file.Path;
import java.util.ArrayList;
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
        final OptionValues.ModelAndCsv files = OptionValues.modelAndCsv(args, (arg, value) -> {
            switch (arg) {
                case "--backend" -> options.backend = OptionValues.backend(value);
                case "--gpu" -> options.gpu = OptionValues.nonNegative(arg, value);
                case "--decode-gpu" -> options.decodeGpu = OptionValues.nonNegative(arg, value);
                case "--paths" -> options.paths = paths(value);
                case "--lengths" -> options.lengths = OptionValues.lengths(arg, value);
                case "--reps" -> options.reps = OptionValues.positive(arg, value);
                case "--warmup" -> options.warmup = OptionValues.positive(arg, value);
                case "--check-steps" -> options.checkSteps = OptionValues.positive(arg, value);
                default -> throw new IllegalArgumentException("unknown option " + arg);
            }
        });
        options.modelDir = files.modelDir();
        options.csv = files.csv();
        if (options.backend == Backend.CPU && options.paths.contains(KvPath.GPU)) {
            throw new IllegalArgumentException("the GPU path needs --backend cuda; on the CPU measure --paths host");
        }
        return options;
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
