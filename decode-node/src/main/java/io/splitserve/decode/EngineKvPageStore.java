package io.splitserve.decode;

import io.splitserve.engine.Engine;
import io.splitserve.engine.ImportedKv;
import io.splitserve.kvtransfer.KvGeometry;
import io.splitserve.kvtransfer.KvPageStore;
import io.splitserve.kvtransfer.KvReservation;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import org.agrona.DirectBuffer;

/**
 * The decode engine's KV pool seen as kv-transfer's {@link KvPageStore}: a reservation is this store's handle on an
 * {@link ImportedKv} of the engine (its pages plus host memory in the wire layout, pinned on the GPU), and incoming
 * bytes are copied straight into that memory at their logical offset, so a fragment may split an element anywhere. With layer import (the
 * default) each layer goes into the pages as soon as its K and V have all arrived ({@link Engine#importLayer}, counted
 * by {@link LayerArrivals}), so at admission only the last layer's copy is left; with whole import the engine moves
 * the whole sequence into its pages when it is admitted. Both are kept so they can be measured side by side.
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

    /** One reservation's engine import and, with layer import, what has arrived of each layer. */
    private static final class Inbound implements KvReservation {
        private final int tokens;
        private final ImportedKv kv;
        private final LayerArrivals arrivals;
        private boolean held = true;

        private Inbound(int tokens, ImportedKv kv, LayerArrivals arrivals) {
            this.tokens = tokens;
            this.kv = kv;
            this.arrivals = arrivals;
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
        this.engine = engine;
        this.layerImport = layerImport;
        this.geometry = new KvGeometry(engine.config().numLayers(), engine.config().numKvHeads(),
                engine.config().headDim(), KvDtype.valueOf(engine.kvWireType().name()));
    }

    @Override
    public KvGeometry geometry() {
        return geometry;
    }

    @Override
    public KvReservation reserve(int tokens) {
        final ImportedKv kv = engine.reserveImported(tokens);
        if (kv == null) {
            return null;
        }
        return new Inbound(tokens, kv, layerImport ? new LayerArrivals(kv.layers(), kv.partBytes()) : null);
    }

    @Override
    public void write(KvReservation reservation, int layer, KvPart part, long byteOffset, DirectBuffer src,
                      int srcIndex, int length) {
        final Inbound inbound = held(reservation);
        final ImportedKv kv = inbound.kv;
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

    @Override
    public void release(KvReservation reservation) {
        engine.releaseImported(leave(reservation));
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
