package io.splitserve.perf.kv;

import io.splitserve.engine.Backend;
import io.splitserve.kvtransfer.KvSenderContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The KV streaming benchmark's command line as a context object with defaults: the CPU backend, prefill on GPU 0 and
 * decode on GPU 1 (CUDA only), prompt lengths 128, 600, 2048 and 8192 tokens, 5 measured repetitions per length, layer-by-layer import.
 * {@link #parse} accepts only well-formed values and says in one line what is wrong with any other.
 */
final class KvStreamOptions {
    static final String USAGE = "usage: splitserve bench kv-stream MODEL_DIR OUT.csv [--backend cpu|cuda] [--prefill-gpu 0]"
            + " [--decode-gpu 1] [--lengths 128,600,2048,8192] [--reps 5] [--import layers|whole] [--ipc-mtu 32768]";

    private Path modelDir;
    private Path csv;
    private Backend backend = Backend.CPU;
    private int prefillGpu;
    private int decodeGpu = 1;
    private int[] lengths = {128, 600, 2048, 8192};
    private int reps = 5;
    private boolean layerImport = true;
    private int ipcMtu = KvSenderContext.RECOMMENDED_IPC_MTU_LENGTH;

    /** @throws IllegalArgumentException naming the first bad or missing argument. */
    static KvStreamOptions parse(String[] args) {
        final KvStreamOptions options = new KvStreamOptions();
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
                case "--prefill-gpu" -> options.prefillGpu = nonNegative(arg, value);
                case "--decode-gpu" -> options.decodeGpu = nonNegative(arg, value);
                case "--lengths" -> options.lengths = lengths(value);
                case "--reps" -> options.reps = positive(arg, value);
                case "--import" -> options.layerImport = importMode(value);
                case "--ipc-mtu" -> options.ipcMtu = positive(arg, value);
                default -> throw new IllegalArgumentException("unknown option " + arg);
            }
        }
        if (positional < 2) {
            throw new IllegalArgumentException("MODEL_DIR and OUT.csv are required");
        }
        if (!Files.isDirectory(options.modelDir)) {
            throw new IllegalArgumentException("model directory not found: " + options.modelDir);
        }
        return options;
    }

    private static boolean importMode(String value) {
        return switch (value) {
            case "layers" -> true;
            case "whole" -> false;
            default -> throw new IllegalArgumentException("--import must be layers or whole, got '" + value + "'");
        };
    }

    private static Backend backend(String value) {
        final Backend backend = Backend.parse(value);
        if (backend == Backend.AUTO) {
            throw new IllegalArgumentException("--backend must be cpu or cuda: a benchmark names what it measures");
        }
        return backend;
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

    int prefillGpu() {
        return prefillGpu;
    }

    int decodeGpu() {
        return decodeGpu;
    }

    /** Prompt lengths in tokens, in the order given. */
    int[] lengths() {
        return lengths.clone();
    }

    /** Measured repetitions per length and quantity; the reported figure is their median. */
    /** Whether the decode side imports each layer as it arrives (true) or the whole prompt at admission. */
    boolean layerImport() {
        return layerImport;
    }

    /** The media driver's IPC MTU: how many bytes of KV one fragment carries. */
    int ipcMtu() {
        return ipcMtu;
    }

    int reps() {
        return reps;
    }
}
