package io.splitserve.decode;

import io.splitserve.engine.Engine;
import io.splitserve.engine.ImportedKv;
import io.splitserve.engine.forward.PeerArena;
import io.splitserve.engine.forward.PeerAttachment;
import io.splitserve.kvtransfer.DeviceKvIntake;
import io.splitserve.kvtransfer.GpuKvExport;
import io.splitserve.kvtransfer.KvGeometry;
import io.splitserve.kvtransfer.KvPageStore;
import io.splitserve.kvtransfer.KvReservation;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferStatus;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.agrona.DirectBuffer;

/**
 * The decode engine's KV pool seen as kv-transfer's {@link KvPageStore}: a reservation is this store's handle on an
 * {@link ImportedKv} of the engine (its pages plus host memory in the wire layout, pinned on the GPU), and incoming
 * bytes are copied straight into that memory at their logical offset, so a fragment may split an element anywhere. With layer import (the
 * default) each layer goes into the pages as soon as its K and V have all arrived ({@link Engine#importLayer}, counted
 * by {@link LayerArrivals}), so at admission only the last layer's copy is left; with whole import the engine moves
 * the whole sequence into its pages when it is admitted. Both are kept so they can be measured side by side. On the
 * CUDA backend it also offers the GPU path ({@link #deviceIntake()}): it maps a prefill engine's export arena (once;
 * a refusal is remembered per arena and logged once), copies each announced layer device to device into the pages and
 * reports the checksums of what landed. A transfer that leaves out leading tokens the engine's prefix cache holds
 * shares those cached pages and takes only the rows after them, by either path.
 *
 * <p>The store's geometry carries the engine's KV element type (F32 on the CPU backend, BF16 on CUDA), so the
 * receiver refuses a transfer from a prefill node of the other backend with FAILED_INCOMPATIBLE instead of
 * converting it. Confined to the decode node's thread, which runs the KV receiver and the engine together. A
 * reservation leaves the store exactly once, by {@link #release} or {@link #take}; after that the store refuses it. Public so
 * the KV streaming benchmark (perf) joins two engines by the same path the nodes use.
 */
public final class EngineKvPageStore implements KvPageStore {
    private final Engine engine;
    private final KvGeometry geometry;
    private final boolean layerImport;
    private final DeviceKvIntake deviceIntake;
    private final Consumer<String> log;

    /** One reservation's engine import and, with layer import, what has arrived of each layer. */
    private static final class Inbound implements KvReservation {
        private final int tokens;
        private final ImportedKv kv;
        private final LayerArrivals arrivals;
        private final boolean fromDevice;
        private boolean held = true;

        private Inbound(int tokens, ImportedKv kv, LayerArrivals arrivals, boolean fromDevice) {
            this.tokens = tokens;
            this.kv = kv;
            this.arrivals = arrivals;
            this.fromDevice = fromDevice;
        }

        @Override
        public int tokens() {
            return tokens;
        }
    }

    /** A store that imports each layer as soon as it has arrived. */
    EngineKvPageStore(Engine engine) {
        this(engine, true);
    }

    /** {@code layerImport} false leaves every layer in host memory until the engine admits the sequence. */
    public EngineKvPageStore(Engine engine, boolean layerImport) {
        this(engine, layerImport, line -> { });
    }

    /** As {@link #EngineKvPageStore(Engine, boolean)}, saying once per exporter why the GPU path could not map it. */
    public EngineKvPageStore(Engine engine, boolean layerImport, Consumer<String> log) {
        this.engine = engine;
        this.layerImport = layerImport;
        this.log = log;
        this.deviceIntake = engine.importsFromDevice() ? new Intake() : null;
        this.geometry = new KvGeometry(engine.config().numLayers(), engine.config().numKvHeads(),
                engine.config().headDim(), KvDtype.valueOf(engine.kvWireType().name()));
    }

    @Override
    public KvGeometry geometry() {
        return geometry;
    }

    @Override
    public KvReservation reserve(int tokens) {
        return reserve(tokens, null);
    }

    /** With the token ids the sender gave, the engine caches the sequence's pages once it is admitted. */
    @Override
    public KvReservation reserve(int tokens, int[] tokenIds) {
        return reserve(tokens, tokenIds, 0);
    }

    /** Whether the engine's prefix cache holds exactly those leading tokens in whole pages now. */
    @Override
    public boolean holdsPrefix(int[] tokenIds, int cachedTokens) {
        return cachedTokens > 0 && engine.cachedPrefixTokens(tokenIds, cachedTokens) == cachedTokens;
    }

    /** The engine shares its cached pages for the first {@code cachedTokens} tokens and takes the rest's bytes. */
    @Override
    public KvReservation reserve(int tokens, int[] tokenIds, int cachedTokens) {
        final ImportedKv kv = engine.reserveImported(tokens, tokenIds, cachedTokens);
        if (kv == null) {
            return null;
        }
        return new Inbound(kv.importedTokens(), kv, layerImport ? new LayerArrivals(kv.layers(), kv.partBytes()) : null,
                false);
    }

    @Override
    public void write(KvReservation reservation, int layer, KvPart part, long byteOffset, DirectBuffer src,
                      int srcIndex, int length) {
        final Inbound inbound = held(reservation);
        final ImportedKv kv = inbound.kv;
        if (inbound.fromDevice) {
            throw new IllegalStateException("a reservation of the GPU path takes no bytes from the host");
        }
        if (byteOffset < 0 || byteOffset + length > kv.partBytes()) {
            throw new IndexOutOfBoundsException("bytes [" + byteOffset + ", " + (byteOffset + length) + ") outside "
                    + kv.partBytes() + " of one layer part");
        }
        final boolean value = part == KvPart.V;
        src.getBytes(srcIndex, kv.bytes(), kv.partOffset(layer, value) + (int) byteOffset, length);
        final LayerArrivals arrivals = inbound.arrivals;
        if (arrivals == null) {
            return;
        }
        if (arrivals.isComplete(layer)) {
            kv.layerRewritten(layer);
        } else if (arrivals.add(layer, value, length)) {
            engine.importLayer(kv, layer);
        }
    }

    /** The GPU path into the engine's pages, when the engine can copy from device memory (the CUDA backend). */
    @Override
    public DeviceKvIntake deviceIntake() {
        return deviceIntake;
    }

    @Override
    public void release(KvReservation reservation) {
        engine.releaseImported(leave(reservation));
    }

    /** The GPU path: KV copied from a prefill engine's exported device memory into the engine's pages. */
    private final class Intake implements DeviceKvIntake {
        private final Map<Long, KvTransferStatus> refused = new HashMap<>();

        @Override
        public KvReservation reserve(int tokens) {
            return reserve(tokens, null);
        }

        @Override
        public KvReservation reserve(int tokens, int[] tokenIds) {
            return reserve(tokens, tokenIds, 0);
        }

        @Override
        public KvReservation reserve(int tokens, int[] tokenIds, int cachedTokens) {
            final ImportedKv kv = engine.reserveImportedFromDevice(tokens, tokenIds, cachedTokens);
            return kv == null ? null : new Inbound(kv.importedTokens(), kv, null, true);
        }

        @Override
        public KvTransferStatus attach(GpuKvExport export) {
            final KvTransferStatus known = refused.get(export.arenaId());
            if (known != null) {
                return known;
            }
            final PeerAttachment attachment = engine.attachPeerArena(new PeerArena(export.hostId(),
                    export.deviceUuid(), export.processId(), export.arenaId(), export.handle()));
            if (attachment.mapped()) {
                return KvTransferStatus.OK;
            }
            final KvTransferStatus status = attachment.access() == PeerAttachment.Access.UNREACHABLE
                    ? KvTransferStatus.FAILED_GPU_PEER_ACCESS : KvTransferStatus.FAILED_GPU_HANDLE;
            refused.put(export.arenaId(), status);
            log.accept("GPU KV path from process " + export.processId() + " (GPU " + export.deviceUuid()
                    + ") refused with " + status + ": " + attachment.reason());
            return status;
        }

        @Override
        public void copyLayer(KvReservation reservation, GpuKvExport export, int layer) {
            final Inbound inbound = held(reservation);
            engine.importLayerFromDevice(inbound.kv, layer, export.arenaId(), export.partOffset(layer, false),
                    export.partOffset(layer, true));
        }

        @Override
        public void landedChecksums(KvReservation reservation, int[] crcs) {
            engine.importedChecksums(held(reservation).kv, crcs);
        }

        @Override
        public void detach(long arenaId) {
            refused.remove(arenaId);
            engine.detachPeerArena(arenaId);
        }
    }

    /** Takes an admitted reservation's pages out of the store; the caller admits or releases them in the engine. */
    public ImportedKv take(KvReservation reservation) {
        return leave(reservation);
    }

    private ImportedKv leave(KvReservation reservation) {
        final Inbound inbound = held(reservation);
        inbound.held = false;
        return inbound.kv;
    }

    private Inbound held(KvReservation reservation) {
        if (!(reservation instanceof Inbound inbound)) {
            throw new IllegalArgumentException("not a reservation of an engine KV store: " + reservation);
        }
        if (!inbound.held) {
            throw new IllegalStateException("a reservation of " + inbound.tokens + " tokens already left the store");
        }
        return inbound;
    }
}
