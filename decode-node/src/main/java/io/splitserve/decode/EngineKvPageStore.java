package io.splitserve.decode;

import io.splitserve.engine.Engine;
import io.splitserve.engine.ImportedKv;
import io.splitserve.kvtransfer.KvGeometry;
import io.splitserve.kvtransfer.KvPageStore;
import io.splitserve.kvtransfer.KvReservation;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import java.nio.ByteOrder;
import java.util.IdentityHashMap;
import java.util.Map;
import org.agrona.DirectBuffer;

/**
 * The decode engine's own page pool seen as kv-transfer's {@link KvPageStore}: a reservation is an {@link ImportedKv}
 * of the engine, and incoming little-endian F32 bytes are scattered straight into the engine's KV pages, so an
 * admitted transfer becomes a running sequence without another copy.
 *
 * <p>Chunk payloads reach {@link #write} in Aeron fragments that may split a float; the element whose bytes are
 * split is patched byte by byte (read, replace the bytes given, write back), so writes need no state between calls.
 * Confined to the decode node's thread, which runs the KV receiver and the engine together.
 */
final class EngineKvPageStore implements KvPageStore {
    private final Engine engine;
    private final KvGeometry geometry;
    private final Map<KvReservation, ImportedKv> imports = new IdentityHashMap<>();
    private float[] scratch = new float[1024];

    EngineKvPageStore(Engine engine) {
        this.engine = engine;
        this.geometry = new KvGeometry(engine.config().numLayers(), engine.config().numKvHeads(),
                engine.config().headDim(), KvDtype.F32);
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
        final boolean value = part == KvPart.V;
        long offset = byteOffset;
        int index = srcIndex;
        int remaining = length;
        while (remaining > 0 && offset % Float.BYTES != 0) { // tail of a float begun by the previous fragment
            patchByte(kv, layer, value, offset++, src.getByte(index++));
            remaining--;
        }
        final int whole = remaining / Float.BYTES;
        if (whole > 0) {
            if (scratch.length < whole) {
                scratch = new float[whole];
            }
            for (int i = 0; i < whole; i++) {
                scratch[i] = src.getFloat(index + i * Float.BYTES, ByteOrder.LITTLE_ENDIAN);
            }
            kv.write(layer, value, offset / Float.BYTES, scratch, 0, whole);
            offset += (long) whole * Float.BYTES;
            index += whole * Float.BYTES;
            remaining -= whole * Float.BYTES;
        }
        while (remaining > 0) { // head of a float the next fragment completes
            patchByte(kv, layer, value, offset++, src.getByte(index++));
            remaining--;
        }
    }

    private static void patchByte(ImportedKv kv, int layer, boolean value, long byteOffset, byte b) {
        final long element = byteOffset / Float.BYTES;
        final int shift = (int) (byteOffset % Float.BYTES) * 8;
        final int bits = Float.floatToRawIntBits(kv.read(layer, value, element));
        final int patched = (bits & ~(0xff << shift)) | (b & 0xff) << shift;
        kv.write(layer, value, element, new float[] {Float.intBitsToFloat(patched)}, 0, 1);
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
