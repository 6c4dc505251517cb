package io.splitserve.perf.kv;

import io.splitserve.engine.Backend;
import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelLoadException;
import io.splitserve.perf.kv.KvPathOptions.KvPath;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What the KV path from a prefill engine to a decode engine in another process costs, per prompt length and per
 * path (GPU: device to device out of the prefill engine's export arena through CUDA IPC; host: through host memory
 * over Aeron IPC), measured with the serving components ({@link KvPathRig}, {@link KvPathDecodeProcess}):
 * <ul>
 *   <li>first_token_ms: from the prefill's start until its first token was sampled (compute and sampling);</li>
 *   <li>ready_ms: from the start until the decode process admitted the sequence (its clock is CLOCK_MONOTONIC, as
 *       this process's);</li>
 *   <li>exposed_ms = ready - first_token, and exposed_pct, its share of ready: what the transfer adds to the
 *       sequence's readiness for decode;</li>
 *   <li>transfer_ms and transfer_gbps: the same KV moved with no compute in the way (exported or on the host
 *       already, then sent until admitted), beside copy_gbps, a device-to-device copy of the same bytes on the decode
 *       GPU, and transfer_of_copy_pct, the transfer's rate as a share of the copy's;</li>
 *   <li>greedy_equal of greedy_steps: how many greedy tokens the decode process decoded like the prefill engine
 *       serving the prompt alone, the least over every run of that length and path.</li>
 * </ul>
 * Each figure is the median of {@code --reps} repetitions after {@code --warmup} (1) unmeasured runs of each kind, paths alternating
 * within a repetition so drift touches them alike. Writes {@link #CSV_HEADER} rows to OUT.csv and a Markdown table to
 * standard output. Usage in {@link KvPathOptions#USAGE}.
 */
public final class KvPathBenchmark {
    /** The command line {@link #run} takes. */
    public static final String USAGE = KvPathOptions.USAGE;
    static final String CSV_HEADER = "length,path,kv_bytes,first_token_ms,ready_ms,exposed_ms,exposed_pct,"
            + "transfer_ms,transfer_gbps,copy_gbps,transfer_of_copy_pct,greedy_equal,greedy_steps";
    private static final String COMMAND = "bench kv-path";
    private static final double NANOS_PER_MS = 1e6;

    /** One prompt length and path's medians; {@code copyGbps} is NaN where no copy was measured (CPU). */
    record Row(int length, KvPath path, long kvBytes, double firstTokenMs, double readyMs, double transferMs,
               double copyGbps, int greedyEqual, int greedySteps) {
        double exposedMs() {
            return readyMs - firstTokenMs;
        }

        double exposedPct() {
            return 100 * exposedMs() / readyMs;
        }

        double transferGbps() {
            return kvBytes / (transferMs * NANOS_PER_MS);
        }

        double transferOfCopyPct() {
            return 100 * transferGbps() / copyGbps;
        }

        String csv() {
            return String.format(Locale.ROOT, "%d,%s,%d,%.3f,%.3f,%.3f,%.1f,%.3f,%.3f,%s,%s,%d,%d", length,
                    path.label(), kvBytes, firstTokenMs, readyMs, exposedMs(), exposedPct(), transferMs,
                    transferGbps(), optional("%.2f", copyGbps), optional("%.1f", transferOfCopyPct()), greedyEqual,
                    greedySteps);
        }

        String markdown() {
            return String.format(Locale.ROOT, "| %d | %s | %.2f | %.3f | %.3f | %.3f | %.1f | %.3f | %.2f | %s | %s |"
                            + " %d/%d |", length, path.label(), kvBytes / (1024.0 * 1024.0), firstTokenMs, readyMs,
                    exposedMs(), exposedPct(), transferMs, transferGbps(), dash(optional("%.1f", copyGbps)),
                    dash(optional("%.1f", transferOfCopyPct())), greedyEqual, greedySteps);
        }

        private static String optional(String format, double value) {
            return Double.isNaN(value) ? "" : String.format(Locale.ROOT, format, value);
        }

        private static String dash(String cell) {
            return cell.isEmpty() ? "-" : cell;
        }
    }

    private KvPathBenchmark() {
    }

    /** Runs the benchmark; returns the process exit status (0 done, 1 cannot run or failed, 2 bad command line). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        final KvPathOptions options = BenchmarkCommand.parse(COMMAND, KvPathOptions.USAGE, KvPathOptions::parse, args,
                err);
        if (options == null) {
            return 2;
        }
        if (options.backend() == Backend.CUDA) {
            final String reason = CudaDevice.unavailableReason();
            if (reason != null) {
                err.println(COMMAND + ": the CUDA backend cannot run here: " + reason);
                return 1;
            }
        }
        return BenchmarkCommand.measureToCsv(COMMAND, options.csv(), CSV_HEADER,
                () -> measure(options, out, err).stream().map(Row::csv).toList(), out, err);
    }

    private static List<Row> measure(KvPathOptions options, PrintStream out, PrintStream err)
            throws ModelLoadException {
        final int[] lengths = options.lengths();
        final int steps = options.checkSteps();
        final ModelConfig config = ModelConfig.load(options.modelDir());
        GreedyCheck.requireContext(config, lengths, steps);
        out.println("KV path benchmark, " + Instant.now());
        BenchmarkCommand.printMachine(out);
        final List<Row> rows = new ArrayList<>();
        try (KvPathRig rig = new KvPathRig(options, Arrays.stream(lengths).max().orElseThrow(), err)) {
            out.println("model: " + options.modelDir() + " (" + rig.geometry() + ")");
            out.println("prefill engine (this process): " + rig.prefillEngine().backend());
            out.println("decode engine (its own process): " + rig.decodeBackend());
            out.println("paths " + options.paths().stream().map(KvPath::label).toList() + "; host path over Aeron"
                    + " IPC in chunks of " + KvPathRig.CHUNK_BYTES / 1024 + " KiB; medians of " + options.reps()
                    + " runs");
            for (int length : lengths) {
                final List<Row> measured = measureLength(rig, options, GreedyCheck.prompt(config.vocabSize(), length));
                for (Row row : measured) {
                    out.println(String.format(Locale.ROOT, "length %d, %s path: ready %.3f ms, first token %.3f ms;"
                                    + " greedy check %d/%d", length, row.path().label(), row.readyMs(),
                            row.firstTokenMs(), row.greedyEqual(), steps));
                    if (row.greedyEqual() != steps) {
                        err.println(COMMAND + ": warning: at " + length + " tokens over the " + row.path().label()
                                + " path the decode process decoded only " + row.greedyEqual() + " of " + steps
                                + " greedy tokens like the prefill engine alone");
                    }
                }
                rows.addAll(measured);
            }
        }
        printTable(rows, out);
        return rows;
    }

    private static List<Row> measureLength(KvPathRig rig, KvPathOptions options, int[] prompt) {
        final List<KvPath> paths = options.paths();
        final int reps = options.reps();
        final int[] reference = rig.reference(prompt, options.checkSteps());
        final KvPathRig.Stored[] stored = new KvPathRig.Stored[paths.size()];
        final int[] greedyEqual = new int[paths.size()];
        Arrays.fill(greedyEqual, reference.length);
        final long[][] firstToken = new long[paths.size()][reps];
        final long[][] ready = new long[paths.size()][reps];
        final long[][] transfer = new long[paths.size()][reps];
        try {
            for (int p = 0; p < paths.size(); p++) {
                stored[p] = rig.store(paths.get(p), prompt);
                for (int w = 0; w < options.warmup(); w++) {
                    greedyEqual[p] = Math.min(greedyEqual[p], GreedyCheck.commonPrefix(reference,
                            rig.streamed(paths.get(p), prompt).tokens()));
                    greedyEqual[p] = Math.min(greedyEqual[p], GreedyCheck.commonPrefix(reference,
                            rig.transfer(stored[p]).tokens()));
                }
            }
            for (int r = 0; r < reps; r++) {
                for (int p = 0; p < paths.size(); p++) {
                    final KvPathRig.Timing streamed = rig.streamed(paths.get(p), prompt);
                    firstToken[p][r] = streamed.firstTokenNs();
                    ready[p][r] = streamed.readyNs();
                    final KvPathRig.Timing moved = rig.transfer(stored[p]);
                    transfer[p][r] = moved.readyNs();
                    greedyEqual[p] = Math.min(greedyEqual[p], Math.min(GreedyCheck.commonPrefix(reference, streamed.tokens()),
                            GreedyCheck.commonPrefix(reference, moved.tokens())));
                }
            }
        } finally {
            for (KvPathRig.Stored kept : stored) {
                if (kept != null) {
                    rig.discard(kept);
                }
            }
        }
        final List<Row> rows = new ArrayList<>();
        final long kvBytes = rig.geometry().totalBytes(prompt.length);
        for (int p = 0; p < paths.size(); p++) {
            rows.add(new Row(prompt.length, paths.get(p), kvBytes, Medians.millis(firstToken[p]), Medians.millis(ready[p]),
                    Medians.millis(transfer[p]), rig.copyGbps(kvBytes), greedyEqual[p], reference.length));
        }
        return rows;
    }

    private static void printTable(List<Row> rows, PrintStream out) {
        out.println();
        out.println("| length | path | KV MiB | first token ms | ready ms | exposed ms | exposed % | transfer ms"
                + " | transfer GB/s | copy GB/s | transfer/copy % | greedy |");
        out.println("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (Row row : rows) {
            out.println(row.markdown());
        }
        out.println();
    }
}
