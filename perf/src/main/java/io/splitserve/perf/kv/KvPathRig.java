package io.splitserve.perf.kv;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.splitserve.engine.Backend;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.FirstTokenListener;
import io.splitserve.engine.PrefillKvListener;
import io.splitserve.engine.forward.DeviceKvArena;
import io.splitserve.engine.forward.DeviceLayerListener;
import io.splitserve.kvtransfer.GpuKvExport;
import io.splitserve.kvtransfer.KvGeometry;
import io.splitserve.kvtransfer.KvSender;
import io.splitserve.kvtransfer.KvSenderContext;
import io.splitserve.model.ModelFingerprint;
import io.splitserve.model.ModelLoadException;
import io.splitserve.model.SamplingParams;
import io.splitserve.perf.kv.KvPathOptions.KvPath;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferStatus;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The prefill side of {@link KvPathBenchmark} and its link to the decode side: an embedded media driver set up like
 * the serving driver's (IPC terms of 16 MiB, 32 KiB MTU) in {@code /dev/shm} where there is one, the prefill engine
 * (on CUDA with an export arena for the GPU path), a {@link KvSender}, and the {@link DecodeProcess} that joins the
 * driver by its directory. Everything here runs on the thread that made it, which owns the engine and the sender, as
 * the prefill agent's thread does.
 *
 * <p>Every operation leaves both sides as it found them: a transfer's arena range is freed once its lease ended, and
 * the decode process releases each sequence after its check. A transfer that does not end in an admission fails the
 * operation with its KV status.
 */
final class KvPathRig implements AutoCloseable {
    /** The prefill node's default chunk size. */
    static final int CHUNK_BYTES = 256 * 1024;
    /** The prefill engine's share of the KV memory set aside as its export arena (GPU path). */
    static final double KV_EXPORT_FRACTION = 0.5;
    private static final long LOAD_WAIT_NS = TimeUnit.SECONDS.toNanos(600);
    private static final long TRANSFER_WAIT_NS = TimeUnit.SECONDS.toNanos(120);
    private static final long LEASE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(90);
    private static final List<SamplingParams> GREEDY = List.of(SamplingParams.greedy());

    /** One transfer's clock readings, all {@link System#nanoTime()} (the admission's taken in the decode process). */
    record Timing(long startNs, long firstTokenAtNs, long admittedAtNs, int[] tokens) {
        /** From the prefill's start until its first token was sampled. */
        long firstTokenNs() {
            return firstTokenAtNs - startNs;
        }

        /** From the start until the decode process admitted the sequence. */
        long readyNs() {
            return admittedAtNs - startNs;
        }
    }

    /** A prompt's KV prefilled once and kept where its path sends it from, for transfers with no compute. */
    static final class Stored {
        private final KvPath path;
        private final int tokens;
        private final int[] layerCrcs;
        private UnsafeBuffer host;
        private long arenaOffset = -1;
        private int firstToken;

        private Stored(KvPath path, int tokens, int layers) {
            this.path = path;
            this.tokens = tokens;
            this.layerCrcs = new int[2 * layers];
        }
    }

    private final MediaDriver driver;
    private final Aeron aeron;
    private final Engine prefill;
    private final KvGeometry geometry;
    private final KvSender sender;
    private final DecodeProcess decode;
    private final String decodeBackend;
    private final Map<Long, Double> copyGbps = new HashMap<>();
    private final IdleStrategy idle = new BackoffIdleStrategy(10, 20, TimeUnit.MICROSECONDS.toNanos(1),
            TimeUnit.MICROSECONDS.toNanos(50));
    private final UnsafeBuffer kvView = new UnsafeBuffer(0, 0);
    private final PrefillKvListener hostSending = this::sendHostLayer;
    private final DeviceLayerListener deviceAnnouncing = this::announceLayer;
    private final FirstTokenListener firstTokenClock = tokens -> firstTokenAtNs = System.nanoTime();
    private long nextRequestId = 1;
    private long currentRequestId;
    private long firstTokenAtNs;
    private long leaseEndedRequestId;
    private KvTransferStatus leaseStatus;

    /**
     * Loads the prefill engine, starts the decode process (which measures device copies of each length's KV bytes on
     * CUDA, then loads its engine) and waits until sender and receiver hear each other.
     */
    KvPathRig(KvPathOptions options, int longest, PrintStream err) throws ModelLoadException {
        final Path dir = aeronDirectory();
        MediaDriver launched = null;
        Aeron client = null;
        Engine engine = null;
        KvSender kvSender = null;
        DecodeProcess process = null;
        try {
            launched = EmbeddedDriver.launch(dir.toString(), KvSenderContext.RECOMMENDED_IPC_MTU_LENGTH);
            client = Aeron.connect(new Aeron.Context().aeronDirectoryName(launched.aeronDirectoryName()));
            final EngineOptions engineOptions = new EngineOptions().backend(options.backend())
                    .prefillTokenBudget(Math.max(longest, EngineOptions.DEFAULT_PREFILL_TOKEN_BUDGET));
            if (options.backend() == Backend.CUDA) {
                engineOptions.gpu(options.gpu()).memFraction(KvPathDecodeProcess.MEM_FRACTION)
                        .kvExportFraction(KV_EXPORT_FRACTION);
            }
            engine = Engine.load(options.modelDir(), engineOptions);
            if (options.paths().contains(KvPath.GPU) && engine.deviceKvArena() == null) {
                throw new IllegalStateException("the prefill engine (" + engine.backend() + ") has no export arena:"
                        + " the GPU path cannot run");
            }
            final long fingerprint = ModelFingerprint.of(options.modelDir());
            kvSender = new KvSender(new KvSenderContext().aeron(client).modelFingerprint(fingerprint)
                    .maxChunkBytes(CHUNK_BYTES).leaseTimeoutNs(LEASE_TIMEOUT_NS)
                    .leaseListener((requestId, status) -> {
                        leaseEndedRequestId = requestId;
                        leaseStatus = status;
                    }));
            final StringJoiner copies = new StringJoiner(",");
            for (int length : options.lengths()) {
                copies.add(Long.toString(engine.deviceExportBytes(length)));
            }
            process = DecodeProcess.start(List.of(launched.aeronDirectoryName(), options.modelDir().toString(),
                    options.backend().name().toLowerCase(Locale.ROOT), Integer.toString(options.decodeGpu()),
                    Integer.toString(options.checkSteps()), Integer.toString(options.reps()), copies.toString()), err);
            this.driver = launched;
            this.aeron = client;
            this.prefill = engine;
            this.sender = kvSender;
            this.decode = process;
            this.geometry = new KvGeometry(engine.config().numLayers(), engine.config().numKvHeads(),
                    engine.config().headDim(), KvDtype.valueOf(engine.kvWireType().name()));
            this.decodeBackend = awaitReady();
            awaitConnected();
        } catch (RuntimeException | ModelLoadException e) {
            CloseHelper.quietCloseAll(process, kvSender, engine, client, launched);
            throw e;
        }
    }

    /** Shared memory where the machine has it (as the serving driver is placed), else the temporary directory. */
    private static Path aeronDirectory() {
        final Path shm = Path.of("/dev/shm");
        final Path parent = Files.isDirectory(shm) && Files.isWritable(shm) ? shm
                : Path.of(System.getProperty("java.io.tmpdir"));
        return parent.resolve("kvpath-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    private String awaitReady() {
        final long deadline = System.nanoTime() + LOAD_WAIT_NS;
        while (true) {
            final DecodeReport report = decode.await(Math.max(1, deadline - System.nanoTime()));
            if (report instanceof DecodeReport.Ready ready) {
                return ready.backend();
            }
            if (report instanceof DecodeReport.Copy copy) {
                copyGbps.put(copy.bytes(), copy.gbps());
            } else if (report == null) {
                throw new IllegalStateException("the decode process was not ready within "
                        + TimeUnit.NANOSECONDS.toSeconds(LOAD_WAIT_NS) + " s");
            } else {
                throw new IllegalStateException("the decode process reported before it was ready: " + report.line());
            }
        }
    }

    private void awaitConnected() {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!sender.isConnected()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the KV sender and the decode process's receiver did not connect"
                        + " within 10 s");
            }
            decode.poll();
            idle.idle();
        }
        idle.reset();
    }

    Engine prefillEngine() {
        return prefill;
    }

    /** The decode process's engine backend, as it reported it. */
    String decodeBackend() {
        return decodeBackend;
    }

    KvGeometry geometry() {
        return geometry;
    }

    /** The decode GPU's device-to-device copy rate for {@code bytes}, or NaN where none was measured (CPU). */
    double copyGbps(long bytes) {
        return copyGbps.getOrDefault(bytes, Double.NaN);
    }

    /** The first {@code steps} greedy tokens of {@code prompt} when the prefill engine alone serves it. */
    int[] reference(int[] prompt, int steps) {
        return GreedyCheck.alone(prefill, prompt, steps);
    }

    /**
     * Prefills {@code prompt} while its KV goes to the decode process layer by layer along {@code path}, as the
     * prefill node sends it, until the decode process admitted and checked it.
     */
    Timing streamed(KvPath path, int[] prompt) {
        final long requestId = nextRequestId++;
        final long arenaOffset = path == KvPath.GPU ? allocate(prompt.length) : -1;
        try {
            firstTokenAtNs = 0;
            currentRequestId = requestId;
            final long start = System.nanoTime();
            begin(requestId, prompt.length, arenaOffset);
            final int first = path == KvPath.GPU
                    ? prefill.prefillToDevice(List.of(prompt), GREEDY, new int[1], new int[1], arenaOffset, deviceAnnouncing,
                            firstTokenClock)[0]
                    : prefill.prefill(List.of(prompt), GREEDY, new int[1], hostSending, firstTokenClock)[0];
            sender.end(requestId, first);
            final DecodeReport.Admitted admitted = awaitAdmission(requestId, prompt.length);
            return new Timing(start, firstTokenAtNs, admitted.admittedNs(), admitted.tokens());
        } finally {
            if (arenaOffset >= 0) {
                prefill.deviceKvArena().free(arenaOffset);
            }
        }
    }

    /** Prefills {@code prompt} once, keeping its KV where {@code path} sends it from (the arena, or host memory). */
    Stored store(KvPath path, int[] prompt) {
        final Stored stored = new Stored(path, prompt.length, geometry.layers());
        if (path == KvPath.GPU) {
            stored.arenaOffset = allocate(prompt.length);
            stored.firstToken = prefill.prefillToDevice(List.of(prompt), GREEDY, new int[1], new int[1], stored.arenaOffset,
                    (layer, crcs) -> {
                        stored.layerCrcs[2 * layer] = crcs[0];
                        stored.layerCrcs[2 * layer + 1] = crcs[1];
                    }, FirstTokenListener.NONE)[0];
        } else {
            final long bytes = geometry.totalBytes(prompt.length);
            if (bytes > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("the KV of " + prompt.length + " tokens (" + bytes
                        + " bytes) exceeds one host buffer; measure shorter prompts");
            }
            final long partBytes = geometry.partBytes(prompt.length);
            final UnsafeBuffer kv = new UnsafeBuffer(ByteBuffer.allocateDirect((int) bytes));
            stored.host = kv;
            stored.firstToken = prefill.prefill(List.of(prompt), GREEDY,
                    (p, layer, keys, keyOffset, values, valueOffset, tokens) -> {
                        kv.putBytes((int) (2 * layer * partBytes), keys, keyOffset, (int) partBytes);
                        kv.putBytes((int) ((2 * layer + 1) * partBytes), values, valueOffset, (int) partBytes);
                    })[0];
        }
        return stored;
    }

    /**
     * Sends KV stored earlier with no compute in the way, until the decode process admitted it: on the GPU path every
     * layer announced at once, on the host path every layer's bytes streamed.
     */
    Timing transfer(Stored stored) {
        final long requestId = nextRequestId++;
        final long partBytes = geometry.partBytes(stored.tokens);
        final long start = System.nanoTime();
        begin(requestId, stored.tokens, stored.arenaOffset);
        for (int layer = 0; layer < geometry.layers(); layer++) {
            final boolean sent = stored.path == KvPath.GPU
                    ? sender.layerReady(requestId, layer, stored.layerCrcs[2 * layer], stored.layerCrcs[2 * layer + 1])
                    : sender.sendLayer(requestId, layer, stored.host, (int) (2 * layer * partBytes), stored.host,
                            (int) ((2 * layer + 1) * partBytes));
            if (!sent) {
                break;
            }
        }
        sender.end(requestId, stored.firstToken);
        final DecodeReport.Admitted admitted = awaitAdmission(requestId, stored.tokens);
        return new Timing(start, start, admitted.admittedNs(), admitted.tokens());
    }

    /** Gives back what {@link #store} kept. */
    void discard(Stored stored) {
        if (stored.arenaOffset >= 0) {
            prefill.deviceKvArena().free(stored.arenaOffset);
            stored.arenaOffset = -1;
        }
        stored.host = null;
    }

    private long allocate(int tokens) {
        final DeviceKvArena arena = prefill.deviceKvArena();
        final long bytes = prefill.deviceExportBytes(tokens);
        final long offset = arena.allocate(bytes);
        if (offset < 0) {
            throw new IllegalStateException("the export arena has no free range of " + bytes + " bytes (" +
                    arena.freeBytes() + " of " + arena.capacity() + " free)");
        }
        return offset;
    }

    private void begin(long requestId, int tokens, long arenaOffset) {
        leaseStatus = null;
        final GpuKvExport export = arenaOffset < 0 ? null : export(arenaOffset, tokens);
        if (!sender.begin(requestId, geometry, tokens, export)) {
            throw new IllegalStateException("KV transfer of " + tokens + " tokens could not begin: " + leaseStatus);
        }
    }

    /** A batch of one prompt: its layer parts follow each other in the arena range, each {@code tokens} rows long. */
    private GpuKvExport export(long arenaOffset, int tokens) {
        final DeviceKvArena arena = prefill.deviceKvArena();
        return new GpuKvExport(arena.hostId(), arena.deviceUuid(), arena.processId(), arena.arenaId(),
                arena.ipcHandle(), arenaOffset, geometry.partBytes(tokens));
    }

    // the engine hands each exported layer over here, with the CRC32C of its K and V (one prompt)
    private void announceLayer(int layer, int[] crcs) {
        sender.layerReady(currentRequestId, layer, crcs[0], crcs[1]);
    }

    // the engine hands each finished layer over here, straight from its (pinned) export buffers
    private void sendHostLayer(int prompt, int layer, ByteBuffer keys, int keyOffset, ByteBuffer values,
                               int valueOffset, int tokens) {
        final int bytes = (int) geometry.partBytes(tokens);
        kvView.wrap(keys, keyOffset, bytes);
        if (sender.sendPart(currentRequestId, layer, KvPart.K, kvView, 0)) {
            kvView.wrap(values, valueOffset, bytes);
            sender.sendPart(currentRequestId, layer, KvPart.V, kvView, 0);
        }
    }

    /** Waits for the decode process's admission report and the sender's lease to end at the ack. */
    private DecodeReport.Admitted awaitAdmission(long requestId, int tokens) {
        final long deadline = System.nanoTime() + TRANSFER_WAIT_NS;
        DecodeReport.Admitted admitted = null;
        while (admitted == null || leaseEndedRequestId != requestId) {
            if (leaseEndedRequestId == requestId && leaseStatus != KvTransferStatus.OK) {
                throw new IllegalStateException("KV transfer of " + tokens + " tokens ended with " + leaseStatus);
            }
            final DecodeReport report = decode.poll();
            if (report instanceof DecodeReport.Admitted a && a.requestId() == requestId) {
                admitted = a;
            } else if (report instanceof DecodeReport.Failed failed && failed.requestId() == requestId) {
                throw new IllegalStateException("the decode process refused KV transfer of " + tokens + " tokens: "
                        + failed.status());
            } else if (report != null) {
                throw new IllegalStateException("unexpected decode report during transfer " + requestId + ": "
                        + report.line());
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("KV transfer of " + tokens + " tokens was not admitted within "
                        + TimeUnit.NANOSECONDS.toSeconds(TRANSFER_WAIT_NS) + " s");
            }
            idle.idle(sender.doWork() + (report == null ? 0 : 1));
        }
        idle.reset();
        return admitted;
    }

    /** Stops the decode process, then closes the sender, the engine and the transport. */
    @Override
    public void close() {
        CloseHelper.quietCloseAll(decode, sender, prefill, aeron, driver);
    }
}
