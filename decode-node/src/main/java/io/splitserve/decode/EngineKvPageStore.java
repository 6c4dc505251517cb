package io.splitserve.decode;

import io.splitserve.engine.Engine;
import io.splitserve.engine.ImportedKv;
import io.splitserve.kvtransfer.KvGeometry;
import io.splitserve.kvtransfer.KvPageStore;
import io.splitserve.kvtransfer.KvReservation;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import java.util.IdentityHashMap;
import java.util.Map;
import org.agrona.DirectBuffer;

/**
 * The decode engine's KV pool seen as kv-transfer's {@link KvPageStore}: a reservation is an {@link ImportedKv} of the
 * engine (its pages plus host memory in the wire layout, pinned on the GPU), and incoming bytes are copied straight
 * into that memory at their logical offset, so a fragment may split an element anywhere. The engine moves the whole
 * sequence into its pages when it is admitted.
 *
 * <p>The store's geometry carries the engine's KV element type (F32 on the CPU backend, BF16 on CUDA), so the
 * receiver refuses a transfer from a prefill node of the other backend with FAILED_INCOMPATIBLE instead of
 * converting it. Confined to the decode node's thread, which runs the KV receiver and the engine together.
 */
final class EngineKvPageStore implements KvPageStore {
    private final Engine engine;
    private final KvGeometry geometry;
    private final Map<KvReservation, ImportedKv> imports = new IdentityHashMap<>();

    EngineKvPageStore(Engine engine) {
        this.engine = engine;
        this.geometry = new KvGeometry(engine.config().numLayers(), engine.config().numKvHeads(),
                engine.config().headDim(), KvDtype.valueOf(engine.kvWireType().name()));
    }

    @Override
    public KvGeometry geometry() {
        return geometry;
    }

    @Override
    public int pageSize() {
        return engine.options().pageSize();
    }

    @Override
    public KvReservation reserve(int tokens) {
        final ImportedKv kv = engine.reserveImported(tokens);
        if (kv == null) {
            return null;
        }
        final KvReservation reservation = new KvReservation(tokens, new int[0]);
        imports.put(reservation, kv);
        return reservation;
    }

    @Override
    public void write(KvReservation reservation, int layer, KvPart part, long byteOffset, DirectBuffer src,
                      int srcIndex, int length) {
        final ImportedKv kv = imports.get(reservation);
        if (byteOffset < 0 || byteOffset + length > kv.partBytes()) {
            throw new IndexOutOfBoundsException("bytes [" + byteOffset + ", " + (byteOffset + length) + ") outside "
                    + kv.partBytes() + " of one layer part");
        }
        src.getBytes(srcIndex, kv.bytes(), kv.partOffset(layer, part == KvPart.V) + (int) byteOffset, length);
    }

    @Override
    public void release(KvReservation reservation) {
        final ImportedKv kv = imports.remove(reservation);
        if (kv != null) {
            engine.releaseImported(kv);
        }
    }

    /** Takes an admitted reservation's pages out of the store; the caller admits or releases them in the engine. */
    ImportedKv take(KvReservation reservation) {
        return imports.remove(reservation);
    }
}
