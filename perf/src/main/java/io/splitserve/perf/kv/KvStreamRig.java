package io.splitserve.perf.kv;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.splitserve.decode.EngineKvPageStore;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.ImportedKv;
import io.splitserve.engine.PrefillKvListener;
import io.splitserve.model.ModelFingerprint;
import io.splitserve.model.ModelLoadException;
import io.splitserve.model.SamplingParams;
import io.splitserve.kvtransfer.KvGeometry;
import io.splitserve.kvtransfer.KvReceiver;
import io.splitserve.kvtransfer.KvSender;
import io.splitserve.kvtransfer.KvSenderContext;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferStatus;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.agrona.CloseHelper;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A prefill engine and a decode engine joined by the real KV path, in one JVM: an embedded media driver set up like
 * the single-JVM serving system's (IPC terms of 16 MiB), a {@link KvSender} on the prefill side and a
 * {@link KvReceiver} scattering into the decode engine's {@link EngineKvPageStore}. As in the nodes, each engine, with
 * its half of the KV path, is owned by one thread of its own, bound to it with {@link Engine#bindToCurrentThread()};
 * the caller's thread only hands those threads work and collects their clock readings.
 *
 * <p>Every operation leaves both engines as it found them: sequences admitted for a measurement are released before
 * the operation returns, so pages never run out however many repetitions run. A transfer that does not end in an
 * admission fails the operation with its KV status.
 */
final class KvStreamRig implements AutoCloseable {
    /** The prefill node's default chunk size. */
    static final int CHUNK_BYTES = 256 * 1024;
    private static final long WAIT_NS = TimeUnit.SECONDS.toNanos(120);
    // a CPU prefill of a long prompt may take seconds per layer: the timeout guards against loss, not slowness
    private static final long LEASE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(90);
    private static final List<SamplingParams> GREEDY = List.of(SamplingParams.greedy());

    /** A streamed or stored transfer's clock readings, all {@link System#nanoTime()}. */
    record Transfer(long startNs, long admitStartNs, long admitEndNs) {
        /** From the first send (Begin) until the decode engine holds the sequence. */
        long readyNs() {
            return admitEndNs - startNs;
        }

        /** The admission alone: moving the fully received KV into the decode engine's pages. */
        long importNs() {
            return admitEndNs - admitStartNs;
        }
    }

    private final MediaDriver driver;
    private final Aeron aeron;
    private final Engine prefill;
    private final Engine decode;
    private final KvGeometry geometry;
    private final AdmittedKv admissions;
    private final KvSender sender;
    private final KvReceiver receiver;
    private final ExecutorService prefillThread;
    private final ExecutorService decodeThread;
    private final PrefillKvListener sendingListener = this::sendLayer;
    private final PrefillKvListener discardingListener = (prompt, layer, k, kOffset, v, vOffset, tokens) -> { };
    private volatile boolean abandoned;
    private long nextRequestId = 1;

    // owned by the prefill thread
    private final IdleStrategy prefillIdle = idle();
    private final UnsafeBuffer kvView = new UnsafeBuffer(0, 0);
    private long streamingRequestId;
    private long leaseEndedRequestId;
    private KvTransferStatus leaseStatus;

    // owned by the decode thread
    private final IdleStrategy decodeIdle = idle();
    private long failedRequestId;
    private KvTransferStatus failedStatus;

    /** Loads both engines, opens the KV path and waits until sender and receiver hear each other. */
    KvStreamRig(Path modelDir, EngineOptions prefillOptions, EngineOptions decodeOptions) throws ModelLoadException {
        this(modelDir, prefillOptions, decodeOptions, true, KvSenderContext.RECOMMENDED_IPC_MTU_LENGTH);
    }

    /**
     * As above, the decode side importing each layer as it arrives ({@code layerImport}) or all at admission, over a
     * driver whose IPC fragments carry {@code ipcMtu} bytes.
     */
    KvStreamRig(Path modelDir, EngineOptions prefillOptions, EngineOptions decodeOptions, boolean layerImport,
                int ipcMtu) throws ModelLoadException {
        final String dir = Path.of(System.getProperty("java.io.tmpdir"),
                "kvbench-" + ProcessHandle.current().pid() + "-" + System.nanoTime()).toString();
        MediaDriver launched = null;
        Aeron client = null;
        Engine prefillEngine = null;
        Engine decodeEngine = null;
        KvSender kvSender = null;
        KvReceiver kvReceiver = null;
        ExecutorService prefillExecutor = null;
        ExecutorService decodeExecutor = null;
        try {
            launched = EmbeddedDriver.launch(dir, ipcMtu);
            client = Aeron.connect(new Aeron.Context().aeronDirectoryName(launched.aeronDirectoryName()));
            prefillEngine = Engine.load(modelDir, prefillOptions);
            decodeEngine = Engine.load(modelDir, decodeOptions);
            final long fingerprint = ModelFingerprint.of(modelDir);
            final AdmittedKv admissions = new AdmittedKv(kvStore(decodeEngine, layerImport), (requestId, status) -> {
                failedRequestId = requestId;
                failedStatus = status;
            });
            kvReceiver = admissions.receiver(client, fingerprint);
            kvSender = new KvSender(new KvSenderContext().aeron(client).modelFingerprint(fingerprint)
                    .maxChunkBytes(CHUNK_BYTES).leaseTimeoutNs(LEASE_TIMEOUT_NS)
                    .leaseListener((requestId, status) -> {
                        leaseEndedRequestId = requestId;
                        leaseStatus = status;
                    }));
            prefillExecutor = Executors.newSingleThreadExecutor(r -> daemon(r, "kvbench-prefill"));
            decodeExecutor = Executors.newSingleThreadExecutor(r -> daemon(r, "kvbench-decode"));
            this.driver = launched;
            this.aeron = client;
            this.prefill = prefillEngine;
            this.decode = decodeEngine;
            this.geometry = new KvGeometry(prefillEngine.config().numLayers(), prefillEngine.config().numKvHeads(),
                    prefillEngine.config().headDim(), KvDtype.valueOf(prefillEngine.kvWireType().name()));
            this.admissions = admissions;
            this.sender = kvSender;
            this.receiver = kvReceiver;
            this.prefillThread = prefillExecutor;
            this.decodeThread = decodeExecutor;
        } catch (RuntimeException | ModelLoadException e) {
            CloseHelper.quietCloseAll(kvSender, kvReceiver);
            closeOnThisThread(decodeEngine);
            closeOnThisThread(prefillEngine);
            CloseHelper.quietCloseAll(client, launched);
            if (prefillExecutor != null) {
                prefillExecutor.shutdownNow();
            }
            if (decodeExecutor != null) {
                decodeExecutor.shutdownNow();
            }
            throw e;
        }
        final Future<Void> prefillReady = prefillThread.submit(() -> {
            prefill.bindToCurrentThread();
            awaitConnected(sender::isConnected);
            return null;
        });
        final Future<Void> decodeReady = decodeThread.submit(() -> {
            decode.bindToCurrentThread();
            awaitConnected(receiver::isConnected);
            return null;
        });
        try {
            join(prefillReady);
            join(decodeReady);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The page store the KV receiver writes into; the one place that chooses how received KV enters the engine. */
    static EngineKvPageStore kvStore(Engine decodeEngine, boolean layerImport) {
        return new EngineKvPageStore(decodeEngine, layerImport);
    }

    Engine prefillEngine() {
        return prefill;
    }

    Engine decodeEngine() {
        return decode;
    }

    KvGeometry geometry() {
        return geometry;
    }

    /** Prefills {@code prompt} with its KV handed to a listener that drops it; returns the prefill's nanoseconds. */
    long compute(int[] prompt) {
        return onPrefillThread(() -> {
            final long start = System.nanoTime();
            prefill.prefill(List.of(prompt), GREEDY, discardingListener);
            return System.nanoTime() - start;
        });
    }

    /**
     * Prefills {@code prompt} and copies its exported KV into {@code kv} in the wire layout
     * {@code [layers][K, V][tokens][kvHeads][headDim]}; returns the first sampled token.
     */
    int capture(int[] prompt, UnsafeBuffer kv) {
        final long partBytes = geometry.partBytes(prompt.length);
        if (kv.capacity() < geometry.totalBytes(prompt.length)) {
            throw new IllegalArgumentException("a capture of " + prompt.length + " tokens needs "
                    + geometry.totalBytes(prompt.length) + " bytes, the buffer holds " + kv.capacity());
        }
        return onPrefillThread(() -> prefill.prefill(List.of(prompt), GREEDY,
                (p, layer, keys, keyOffset, values, valueOffset, tokens) -> {
                    kv.putBytes((int) (2 * layer * partBytes), keys, keyOffset, (int) partBytes);
                    kv.putBytes((int) ((2 * layer + 1) * partBytes), values, valueOffset, (int) partBytes);
                })[0]);
    }

    /**
     * Prefills {@code prompt} while its KV streams to the decode engine layer by layer, as the prefill node does;
     * the decode thread polls the receiver meanwhile and admits the sequence as soon as it verified.
     */
    Transfer streamed(int[] prompt) {
        final long requestId = nextRequestId++;
        return transfer(requestId, () -> streamPrefill(requestId, prompt));
    }

    /** Sends KV captured earlier ({@link #capture}) layer by layer with no compute, until it is admitted. */
    Transfer stored(UnsafeBuffer kv, int tokens, int firstToken) {
        final long requestId = nextRequestId++;
        return transfer(requestId, () -> sendStored(requestId, kv, tokens, firstToken));
    }

    /**
     * The first {@code steps} greedy tokens of {@code prompt} when its KV is streamed to the decode engine, which
     * then decodes on (the first token is the one the prefill engine sampled).
     */
    int[] streamedGreedy(int[] prompt, int steps) {
        final long requestId = nextRequestId++;
        abandoned = false;
        final Future<int[]> decoded = decodeThread.submit(() -> {
            final int firstToken = awaitAdmission(requestId);
            final ImportedKv kv = admissions.take();
            final int[] tokens = new int[steps];
            tokens[0] = firstToken;
            final long sequence = decode.admitImported(kv, firstToken, SamplingParams.greedy(), 1);
            try {
                for (int n = 1; n < steps; n++) {
                    tokens[n] = GreedyCheck.onlyToken(decode.step(), sequence);
                }
            } finally {
                decode.release(sequence);
            }
            return tokens;
        });
        awaitBoth(prefillThread.submit(() -> streamPrefill(requestId, prompt)), decoded);
        return join(decoded);
    }

    /** The first {@code steps} greedy tokens of {@code prompt} when the prefill engine alone serves it. */
    int[] colocatedGreedy(int[] prompt, int steps) {
        return onPrefillThread(() -> GreedyCheck.alone(prefill, prompt, steps));
    }

    private Transfer transfer(long requestId, Callable<Long> send) {
        abandoned = false;
        final Future<long[]> admitted = decodeThread.submit(() -> {
            final int firstToken = awaitAdmission(requestId);
            final ImportedKv kv = admissions.take();
            final long admitStart = System.nanoTime();
            final long sequence = decode.admitImported(kv, firstToken, SamplingParams.greedy(), 1);
            final long admitEnd = System.nanoTime();
            decode.release(sequence);
            return new long[] {admitStart, admitEnd};
        });
        final Future<Long> started = prefillThread.submit(send);
        awaitBoth(started, admitted);
        final long[] admission = join(admitted);
        return new Transfer(join(started), admission[0], admission[1]);
    }

    /** Waits for the sending side; if it failed, stops the receiving side's wait at once rather than at its deadline. */
    private void awaitBoth(Future<?> sending, Future<?> receiving) {
        try {
            join(sending);
        } catch (RuntimeException e) {
            abandoned = true;
            try {
                join(receiving);
            } catch (RuntimeException ignored) {
                // the sending side's failure is the cause worth reporting
            }
            throw e;
        }
    }

    // prefill thread
    private long streamPrefill(long requestId, int[] prompt) {
        final long start = System.nanoTime();
        begin(requestId, prompt.length);
        streamingRequestId = requestId;
        final int first = prefill.prefill(List.of(prompt), GREEDY, sendingListener)[0];
        sender.end(requestId, first);
        awaitLease(requestId, prompt.length);
        return start;
    }

    // prefill thread
    private long sendStored(long requestId, UnsafeBuffer kv, int tokens, int firstToken) {
        final long partBytes = geometry.partBytes(tokens);
        final long start = System.nanoTime();
        begin(requestId, tokens);
        for (int layer = 0; layer < geometry.layers(); layer++) {
            if (!sender.sendLayer(requestId, layer, kv, (int) (2 * layer * partBytes), kv,
                    (int) ((2 * layer + 1) * partBytes))) {
                break;
            }
        }
        sender.end(requestId, firstToken);
        awaitLease(requestId, tokens);
        return start;
    }

    // prefill thread: the engine hands each finished layer over here, straight from its (pinned) export buffers
    private void sendLayer(int prompt, int layer, ByteBuffer keys, int keyOffset, ByteBuffer values, int valueOffset,
                           int tokens) {
        final int bytes = (int) geometry.partBytes(tokens);
        kvView.wrap(keys, keyOffset, bytes);
        if (sender.sendPart(streamingRequestId, layer, KvPart.K, kvView, 0)) {
            kvView.wrap(values, valueOffset, bytes);
            sender.sendPart(streamingRequestId, layer, KvPart.V, kvView, 0);
        }
    }

    // prefill thread
    private void begin(long requestId, int tokens) {
        leaseStatus = null;
        if (!sender.begin(requestId, geometry, tokens)) {
            throw new IllegalStateException("KV transfer of " + tokens + " tokens could not begin: " + leaseStatus);
        }
    }

    // prefill thread: the lease ends at the decode side's ack
    private void awaitLease(long requestId, int tokens) {
        final long deadline = System.nanoTime() + WAIT_NS;
        while (leaseEndedRequestId != requestId) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("KV transfer of " + tokens + " tokens was not acknowledged within "
                        + TimeUnit.NANOSECONDS.toSeconds(WAIT_NS) + " s");
            }
            prefillIdle.idle(sender.doWork());
        }
        prefillIdle.reset();
        if (leaseStatus != KvTransferStatus.OK) {
            throw new IllegalStateException("KV transfer of " + tokens + " tokens ended with " + leaseStatus);
        }
    }

    // decode thread: the node's duty cycle reduced to its KV part; returns the admitted transfer's first token
    private int awaitAdmission(long requestId) {
        final long deadline = System.nanoTime() + WAIT_NS;
        while (admissions.requestId() != requestId) {
            if (failedRequestId == requestId) {
                throw new IllegalStateException("the decode side refused KV transfer " + requestId + ": "
                        + failedStatus);
            }
            if (abandoned || System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("KV transfer " + requestId + " was not admitted");
            }
            decodeIdle.idle(receiver.doWork());
        }
        decodeIdle.reset();
        return admissions.firstToken();
    }

    private <T> T onPrefillThread(Callable<T> work) {
        return join(prefillThread.submit(work));
    }

    private static void closeOnThisThread(Engine engine) {
        if (engine != null) {
            engine.bindToCurrentThread();
            engine.close();
        }
    }

    private static Thread daemon(Runnable work, String name) {
        final Thread thread = new Thread(work, name);
        thread.setDaemon(true);
        return thread;
    }

    private static void awaitConnected(BooleanSupplier connected) {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        final IdleStrategy idle = idle();
        while (!connected.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the KV sender and receiver did not connect within 10 s");
            }
            idle.idle();
        }
    }

    /**
     * Wakes within 50 us once idle: low enough not to blur sub-millisecond transfers, gentle enough to leave the cores
     * to a CPU prefill.
     */
    private static IdleStrategy idle() {
        return new BackoffIdleStrategy(10, 20, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(50));
    }

    private static <T> T join(Future<T> future) {
        try {
            return future.get();
        } catch (ExecutionException e) {
            final Throwable cause = e.getCause();
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(cause.getMessage(), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the benchmark's engine threads", e);
        }
    }

    /** Closes each engine and its half of the KV path on the thread that owns them, then the transport. */
    @Override
    public void close() {
        try {
            join(prefillThread.submit(() -> {
                CloseHelper.quietCloseAll(sender, prefill);
                return null;
            }));
            join(decodeThread.submit(() -> {
                CloseHelper.quietCloseAll(receiver, decode);
                return null;
            }));
        } finally {
            prefillThread.shutdownNow();
            decodeThread.shutdownNow();
            CloseHelper.quietCloseAll(aeron, driver);
        }
    }
}
