package io.splitserve.perf.kv;

import io.splitserve.engine.Backend;
import io.splitserve.engine.EngineOptions;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelLoadException;
import io.splitserve.kvtransfer.KvGeometry;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * What moving a prompt's KV cache from the prefill engine to the decode engine costs, per prompt length, measured with
 * the real components ({@link KvStreamRig}): the prefill alone (T_compute); the prefill streaming its KV layer by
 * layer over Aeron IPC into the decode engine, from its start until the decode engine has admitted the sequence
 * (T_ready); the same bytes sent with no compute until admitted (T_transfer); and the admission alone, which moves
 * the fully received KV into the decode engine's pages (T_import). From those: the transfer's rate (KV bytes over
 * T_transfer), the time streaming adds to the first token's readiness for decode (exposed = T_ready - T_compute) and
 * the share of the transfer that streaming hides (1 - exposed / T_transfer). On CUDA with two GPUs that can peer, the
 * rate of a device-to-device copy of the same bytes is reported beside it ({@link PeerCopyMeter}): what a same-host
 * fast path could move.
 *
 * <p>Each figure is the median of {@code --reps} repetitions taken after one unmeasured run of each kind; the three
 * kinds alternate within a repetition so that drift touches them alike. Before measuring a length it checks that
 * the streamed KV decodes the same greedy tokens as the prefill engine serving the prompt alone, and reports the
 * count. Writes {@link #CSV_HEADER} rows to OUT.csv and a table to standard output. Usage in
 * {@link KvStreamOptions#USAGE}.
 */
public final class KvStreamBenchmark {
    /** The command line {@link #run} takes. */
    public static final String USAGE = KvStreamOptions.USAGE;
    static final String CSV_HEADER = "length,kv_bytes,compute_ms,ready_ms,exposed_ms,transfer_ms,transfer_gbps,"
            + "hidden_pct,import_ms,peer_gbps";
    /** Greedy tokens compared per length: the first (sampled by the prefill engine) and the decode engine's next. */
    static final int CHECK_STEPS = 8;
    /** Each engine's share of its GPU's free memory for KV pages, so both fit even when they share one GPU. */
    private static final double MEM_FRACTION = 0.4;
    private static final String COMMAND = "bench kv-stream";
    private static final double NANOS_PER_MS = 1e6;

    /** One prompt length's medians; {@code peerGbps} is NaN where no peer copy was measured. */
    record Row(int length, long kvBytes, double computeMs, double readyMs, double transferMs, double importMs,
               double peerGbps, int greedyEqual) {
        double exposedMs() {
            return readyMs - computeMs;
        }

        double transferGbps() {
            return kvBytes / (transferMs * NANOS_PER_MS);
        }

        double hiddenPct() {
            return 100 * (1 - exposedMs() / transferMs);
        }

        Row withPeerGbps(double gbps) {
            return new Row(length, kvBytes, computeMs, readyMs, transferMs, importMs, gbps, greedyEqual);
        }

        String csv() {
            return String.format(Locale.ROOT, "%d,%d,%.3f,%.3f,%.3f,%.3f,%.3f,%.1f,%.3f,%s", length, kvBytes,
                    computeMs, readyMs, exposedMs(), transferMs, transferGbps(), hiddenPct(), importMs,
                    Double.isNaN(peerGbps) ? "" : String.format(Locale.ROOT, "%.2f", peerGbps));
        }

        String tableLine() {
            return String.format(Locale.ROOT, "%7d %9.3f %11.3f %9.3f %11.3f %12.3f %8.3f %9.1f %10.3f %10s %7s",
                    length, kvBytes / (1024.0 * 1024.0), computeMs, readyMs, exposedMs(), transferMs, transferGbps(),
                    hiddenPct(), importMs, Double.isNaN(peerGbps) ? "-" : String.format(Locale.ROOT, "%.2f", peerGbps),
                    greedyEqual + "/" + CHECK_STEPS);
        }
    }

    private KvStreamBenchmark() {
    }

    /** Runs the benchmark; returns the process exit status (0 done, 1 failed, 2 bad command line). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        final KvStreamOptions options = BenchmarkCommand.parse(COMMAND, KvStreamOptions.USAGE, KvStreamOptions::parse,
                args, err);
        if (options == null) {
            return 2;
        }
        return BenchmarkCommand.measureToCsv(COMMAND, options.csv(), CSV_HEADER,
                () -> measure(options, out, err).stream().map(Row::csv).toList(), out, err);
    }

    private static List<Row> measure(KvStreamOptions options, PrintStream out, PrintStream err)
            throws ModelLoadException {
        final int[] lengths = options.lengths();
        final int longest = Arrays.stream(lengths).max().orElseThrow();
        final ModelConfig config = ModelConfig.load(options.modelDir());
        GreedyCheck.requireContext(config, lengths, CHECK_STEPS);
        out.println("KV streaming benchmark, " + Instant.now());
        BenchmarkCommand.printMachine(out);
        final EngineOptions prefillOptions = engineOptions(options, options.prefillGpu())
                .prefillTokenBudget(Math.max(longest, EngineOptions.DEFAULT_PREFILL_TOKEN_BUDGET));
        final EngineOptions decodeOptions = engineOptions(options, options.decodeGpu());
        final List<Row> rows = new ArrayList<>();
        try (KvStreamRig rig = new KvStreamRig(options.modelDir(), prefillOptions, decodeOptions, options.layerImport(),
                options.ipcMtu())) {
            final KvGeometry geometry = rig.geometry();
            out.println("model: " + options.modelDir() + " (" + geometry + ")");
            out.println("prefill engine: " + rig.prefillEngine().backend());
            out.println("decode engine:  " + rig.decodeEngine().backend());
            out.println("decode side imports " + (options.layerImport() ? "each layer as it arrives" : "the whole prompt at admission"));
            out.println("KV over Aeron IPC in chunks of " + KvStreamRig.CHUNK_BYTES / 1024 + " KiB, IPC MTU "
                    + options.ipcMtu() + " bytes; medians of "
                    + options.reps() + " runs");
            final long captureBytes = geometry.totalBytes(longest);
            if (captureBytes > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("the KV of " + longest + " tokens (" + captureBytes
                        + " bytes) exceeds one buffer; measure shorter prompts");
            }
            final UnsafeBuffer captured = new UnsafeBuffer(ByteBuffer.allocateDirect((int) captureBytes));
            for (int length : lengths) {
                final Row row = measureLength(rig, GreedyCheck.prompt(config.vocabSize(), length), captured, options.reps());
                out.println(String.format(Locale.ROOT, "length %d: ready %.3f ms over compute %.3f ms; greedy check"
                        + " %d/%d", length, row.readyMs(), row.computeMs(), row.greedyEqual(), CHECK_STEPS));
                if (row.greedyEqual() != CHECK_STEPS) {
                    err.println(COMMAND + ": warning: at " + length + " tokens the streamed KV decoded only "
                            + row.greedyEqual() + " of " + CHECK_STEPS + " greedy tokens like the prefill engine alone");
                }
                rows.add(row);
            }
        }
        if (options.backend() == Backend.CUDA) {
            addPeerCopies(rows, options, out);
        }
        printTable(rows, out);
        return rows;
    }

    private static Row measureLength(KvStreamRig rig, int[] prompt, UnsafeBuffer captured, int reps) {
        final int length = prompt.length;
        final int greedyEqual = GreedyCheck.commonPrefix(rig.colocatedGreedy(prompt, CHECK_STEPS),
                rig.streamedGreedy(prompt, CHECK_STEPS));
        final int firstToken = rig.capture(prompt, captured);
        rig.compute(prompt);
        rig.streamed(prompt);
        rig.stored(captured, length, firstToken);
        final long[] compute = new long[reps];
        final long[] ready = new long[reps];
        final long[] transfer = new long[reps];
        final long[] imports = new long[reps];
        for (int r = 0; r < reps; r++) {
            compute[r] = rig.compute(prompt);
            ready[r] = rig.streamed(prompt).readyNs();
            final KvStreamRig.Transfer stored = rig.stored(captured, length, firstToken);
            transfer[r] = stored.readyNs();
            imports[r] = stored.importNs();
        }
        return new Row(length, rig.geometry().totalBytes(length), Medians.millis(compute), Medians.millis(ready),
                Medians.millis(transfer), Medians.millis(imports), Double.NaN, greedyEqual);
    }

    /** Peer copies run after the engines are gone, so they share the GPUs with nothing. */
    private static void addPeerCopies(List<Row> rows, KvStreamOptions options, PrintStream out) {
        final String reason = PeerCopyMeter.unsupportedReason(options.prefillGpu(), options.decodeGpu());
        if (reason != null) {
            out.println("peer copy: not measured: " + reason);
            return;
        }
        final long largest = rows.stream().mapToLong(Row::kvBytes).max().orElseThrow();
        try (PeerCopyMeter meter = PeerCopyMeter.open(options.prefillGpu(), options.decodeGpu(), largest)) {
            for (int i = 0; i < rows.size(); i++) {
                rows.set(i, rows.get(i).withPeerGbps(meter.medianGbps(rows.get(i).kvBytes(), options.reps())));
            }
        }
        out.println("peer copy: GPU " + options.prefillGpu() + " -> GPU " + options.decodeGpu()
                + " (cuMemcpyPeerAsync, peer access on, host-timed until the stream finished)");
    }

    private static void printTable(List<Row> rows, PrintStream out) {
        out.println();
        out.println(" length    KV MiB  compute ms  ready ms  exposed ms  transfer ms  KV GB/s  hidden %  import ms"
                + "  peer GB/s  greedy");
        for (Row row : rows) {
            out.println(row.tableLine());
        }
        out.println();
    }

    private static EngineOptions engineOptions(KvStreamOptions options, int gpu) {
        final EngineOptions engine = new EngineOptions().backend(options.backend());
        return options.backend() == Backend.CUDA ? engine.gpu(gpu).memFraction(MEM_FRACTION) : engine;
    }
}
