package io.splitserve.perf.kv;

import io.splitserve.engine.Backend;
import io.splitserve.kvtransfer.KvSenderContext;
import java.nio.file.Path;

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
        final OptionValues.ModelAndCsv files = OptionValues.modelAndCsv(args, (arg, value) -> {
            switch (arg) {
                case "--backend" -> options.backend = OptionValues.backend(value);
                case "--prefill-gpu" -> options.prefillGpu = OptionValues.nonNegative(arg, value);
                case "--decode-gpu" -> options.decodeGpu = OptionValues.nonNegative(arg, value);
                case "--lengths" -> options.lengths = OptionValues.lengths(arg, value);
                case "--reps" -> options.reps = OptionValues.positive(arg, value);
                case "--import" -> options.layerImport = importMode(value);
                case "--ipc-mtu" -> options.ipcMtu = OptionValues.positive(arg, value);
                default -> throw new IllegalArgumentException("unknown option " + arg);
            }
        });
        options.modelDir = files.modelDir();
        options.csv = files.csv();
        return options;
    }

    private static boolean importMode(String value) {
        return switch (value) {
            case "layers" -> true;
            case "whole" -> false;
            default -> throw new IllegalArgumentException("--import must be layers or whole, got '" + value + "'");
        };
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

    /** Whether the decode side imports each layer as it arrives (true) or the whole prompt at admission. */
    boolean layerImport() {
        return layerImport;
    }

    /** The media driver's IPC MTU: how many bytes of KV one fragment carries. */
    int ipcMtu() {
        return ipcMtu;
    }

    /** Measured repetitions per length and quantity; the reported figure is their median. */
    int reps() {
        return reps;
    }
}
