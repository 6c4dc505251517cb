package io.splitserve.perf.kv;

import io.aeron.Aeron;
import io.splitserve.decode.EngineKvPageStore;
import io.splitserve.engine.Backend;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.ImportedKv;
import io.splitserve.kvtransfer.KvReceiver;
import io.splitserve.model.ModelFingerprint;
import io.splitserve.model.ModelLoadException;
import io.splitserve.model.SamplingParams;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/**
 * The decode side of {@link KvPathBenchmark}, a process of its own as a decode node is: it joins the benchmark's
 * media driver by its directory, measures device-to-device copies on its GPU (CUDA) before its engine takes the
 * memory, loads the decode engine and receives KV with a {@link KvReceiver} into an {@link EngineKvPageStore}, the
 * decode node's own store (GPU path through CUDA IPC, host path through Aeron). Each verified transfer is admitted at
 * once ({@link Engine#admitImported}) and the admission's {@link System#nanoTime()} taken; then it decodes greedily up
 * to the check's length, releases the sequence and reports (a {@link DecodeReport} line on standard output). Runs
 * until its standard input ends (the benchmark closes it, or died), all on its main thread, which owns the engine.
 *
 * <p>usage: {@code KvPathDecodeProcess AERON_DIR MODEL_DIR cpu|cuda GPU CHECK_STEPS REPS [COPY_BYTES,...]}; exit status
 * 0 after standard input ended, 1 after a failure (reported as {@link DecodeReport.Stopped}), 2 on bad arguments.
 */
public final class KvPathDecodeProcess {
    /** Each engine's share of its GPU's free memory for KV pages, so both fit when they share one GPU. */
    static final double MEM_FRACTION = 0.35;

    private final PrintStream out;
    private final Engine engine;
    private final AdmittedKv admitted;
    private final int checkSteps;
    private volatile boolean inputEnded;

    private KvPathDecodeProcess(PrintStream out, Engine engine, int checkSteps) {
        this.out = out;
        this.engine = engine;
        this.checkSteps = checkSteps;
        this.admitted = new AdmittedKv(new EngineKvPageStore(engine, true,
                line -> System.err.println("kv-path decode process: " + line)),
                (requestId, status) -> out.println(new DecodeReport.Failed(requestId, status.name()).line()));
    }

    public static void main(String[] args) {
        final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        if (args.length < 6 || args.length > 7) {
            System.err.println("usage: KvPathDecodeProcess AERON_DIR MODEL_DIR cpu|cuda GPU CHECK_STEPS REPS"
                    + " [COPY_BYTES,...]");
            System.exit(2);
        }
        try {
            run(args, out);
            System.exit(0);
        } catch (RuntimeException | IOException | ModelLoadException e) {
            out.println(new DecodeReport.Stopped(e.getClass().getSimpleName() + ": " + e.getMessage()).line());
            System.exit(1);
        }
    }

    private static void run(String[] args, PrintStream out) throws IOException, ModelLoadException {
        final String aeronDir = args[0];
        final Path modelDir = Path.of(args[1]);
        final Backend backend = Backend.parse(args[2]);
        final int gpu = Integer.parseInt(args[3]);
        final int checkSteps = Integer.parseInt(args[4]);
        final int reps = Integer.parseInt(args[5]);
        final long[] copyBytes = args.length == 7
                ? Arrays.stream(args[6].split(",")).mapToLong(Long::parseLong).toArray() : new long[0];
        if (backend == Backend.CUDA && copyBytes.length > 0) {
            final long largest = Arrays.stream(copyBytes).max().orElseThrow();
            try (DeviceCopyMeter meter = DeviceCopyMeter.open(gpu, largest)) {
                for (long bytes : copyBytes) {
                    out.println(new DecodeReport.Copy(bytes, meter.medianGbps(bytes, reps)).line());
                }
            }
        }
        final EngineOptions options = new EngineOptions().backend(backend);
        if (backend == Backend.CUDA) {
            options.gpu(gpu).memFraction(MEM_FRACTION);
        }
        try (Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(aeronDir));
             Engine engine = Engine.load(modelDir, options)) {
            new KvPathDecodeProcess(out, engine, checkSteps).serve(aeron, ModelFingerprint.of(modelDir));
        }
    }

    private void serve(Aeron aeron, long fingerprint) {
        final KvReceiver receiver = admitted.receiver(aeron, fingerprint);
        try {
            watchInput();
            out.println(new DecodeReport.Ready(engine.backend()).line());
            final IdleStrategy idle = new BackoffIdleStrategy(10, 20, TimeUnit.MICROSECONDS.toNanos(1),
                    TimeUnit.MICROSECONDS.toNanos(50));
            while (!inputEnded) {
                final int work = receiver.doWork();
                if (admitted.waiting()) {
                    admitAndDecode();
                }
                idle.idle(work);
            }
        } finally {
            CloseHelper.quietClose(receiver);
        }
    }

    /** Admits the verified transfer, notes when, decodes the check's tokens and gives the pages back. */
    private void admitAndDecode() {
        final int firstToken = admitted.firstToken();
        final ImportedKv kv = admitted.take();
        final long sequence = engine.admitImported(kv, firstToken, SamplingParams.greedy(), 1);
        final long admittedNs = System.nanoTime();
        final int[] tokens = new int[checkSteps];
        tokens[0] = firstToken;
        try {
            for (int n = 1; n < checkSteps; n++) {
                tokens[n] = GreedyCheck.onlyToken(engine.step(), sequence);
            }
        } finally {
            engine.release(sequence);
        }
        out.println(new DecodeReport.Admitted(admitted.requestId(), admittedNs, tokens).line());
    }

    /** The benchmark ends this process by closing its standard input (so does the benchmark's death). */
    private void watchInput() {
        final Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // nothing is sent on standard input: only its end matters
                }
            } catch (IOException ignored) {
                // a broken input ends the process like a closed one
            }
            inputEnded = true;
        }, "kv-path-input");
        watcher.setDaemon(true);
        watcher.start();
    }
}
