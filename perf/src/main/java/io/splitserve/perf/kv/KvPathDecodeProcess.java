package io.splitserve.perf.kv;

import io.aeron.Aeron;
import io.splitserve.decode.EngineKvPageStore;
import io.splitserve.engine.Backend;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.ImportedKv;
import io.splitserve.engine.StepOutput;
import io.splitserve.kvtransfer.KvReceiveListener;
import io.splitserve.kvtransfer.KvReceiver;
import io.splitserve.kvtransfer.KvReceiverContext;
import io.splitserve.kvtransfer.KvReservation;
import io.splitserve.model.ModelFingerprint;
import io.splitserve.model.ModelLoadException;
import io.splitserve.model.SamplingParams;
import io.splitserve.sbe.KvTransferStatus;
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
    // a CPU prefill of a long prompt may take seconds per layer: the timeout guards against loss, not slowness
    private static final long TRANSFER_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(60);

    private final PrintStream out;
    private final Engine engine;
    private final EngineKvPageStore store;
    private final int checkSteps;
    private volatile boolean inputEnded;

    // written by the receiver's listener, read by the loop, both on the main thread
    private long admittedRequestId = -1;
    private KvReservation admittedReservation;
    private int admittedFirstToken;

    private KvPathDecodeProcess(PrintStream out, Engine engine, int checkSteps) {
        this.out = out;
        this.engine = engine;
        this.checkSteps = checkSteps;
        this.store = new EngineKvPageStore(engine, true,
                line -> System.err.println("kv-path decode process: " + line));
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
        final KvReceiver receiver = new KvReceiver(new KvReceiverContext().aeron(aeron).modelFingerprint(fingerprint)
                .pageStore(store).transferTimeoutNs(TRANSFER_TIMEOUT_NS)
                .receiveListener(new KvReceiveListener() {
                    @Override
                    public void onTransferAdmitted(long requestId, KvReservation reservation, int firstToken) {
                        admittedRequestId = requestId;
                        admittedReservation = reservation;
                        admittedFirstToken = firstToken;
                    }

                    @Override
                    public void onTransferFailed(long requestId, KvTransferStatus status) {
                        out.println(new DecodeReport.Failed(requestId, status.name()).line());
                    }
                }));
        try {
            watchInput();
            out.println(new DecodeReport.Ready(engine.backend()).line());
            final IdleStrategy idle = new BackoffIdleStrategy(10, 20, TimeUnit.MICROSECONDS.toNanos(1),
                    TimeUnit.MICROSECONDS.toNanos(50));
            while (!inputEnded) {
                final int work = receiver.doWork();
                if (admittedReservation != null) {
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
        final ImportedKv kv = store.take(admittedReservation);
        admittedReservation = null;
        final long sequence = engine.admitImported(kv, admittedFirstToken, SamplingParams.greedy(), 1);
        final long admittedNs = System.nanoTime();
        final int[] tokens = new int[checkSteps];
        tokens[0] = admittedFirstToken;
        try {
            for (int n = 1; n < checkSteps; n++) {
                tokens[n] = onlyToken(engine.step(), sequence);
            }
        } finally {
            engine.release(sequence);
        }
        out.println(new DecodeReport.Admitted(admittedRequestId, admittedNs, tokens).line());
    }

    private static int onlyToken(List<StepOutput> outputs, long sequence) {
        if (outputs.size() != 1 || outputs.get(0).sequenceId() != sequence) {
            throw new IllegalStateException("expected one token of sequence " + sequence + ", the step gave "
                    + outputs.size());
        }
        return outputs.get(0).token();
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
