package io.splitserve.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.ImportedKv;
import io.splitserve.engine.demo.DemoModel;
import io.splitserve.kvtransfer.KvReservation;
import io.splitserve.sbe.KvPart;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * The decode engine's page pool as a KV page store: bytes arriving in pieces that split floats anywhere land as the
 * exact floats in the right tokens of the engine's own pages, and reservations are all or nothing.
 */
class EngineKvPageStoreTest {
    private static Engine engine(int pages) throws Exception {
        final Path demo = DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
        return Engine.load(demo, new EngineOptions().pageSize(3).maxPages(pages));
    }

    @Test
    void bytesSplitAnywhereBecomeTheSameFloats() throws Exception {
        try (Engine engine = engine(8)) {
            final EngineKvPageStore store = new EngineKvPageStore(engine);
            final int tokens = 10;
            final int kvDim = engine.config().kvDim();
            final int count = tokens * kvDim;
            final UnsafeBuffer wire = new UnsafeBuffer(ByteBuffer.allocateDirect(count * 4));
            for (int i = 0; i < count; i++) {
                wire.putFloat(i * 4, i * 0.25f - 7, ByteOrder.LITTLE_ENDIAN);
            }
            final KvReservation reservation = store.reserve(tokens);
            assertNotNull(reservation);
            for (int layer = 0; layer < engine.config().numLayers(); layer++) {
                for (KvPart part : new KvPart[] {KvPart.K, KvPart.V}) {
                    for (int offset = 0; offset < count * 4; offset += 7) { // 7-byte pieces split most floats
                        store.write(reservation, layer, part, offset, wire, offset, Math.min(7, count * 4 - offset));
                    }
                }
            }
            final ImportedKv kv = store.take(reservation);
            for (int layer = 0; layer < engine.config().numLayers(); layer++) {
                for (int i = 0; i < count; i += 13) {
                    assertEquals(i * 0.25f - 7, kv.read(layer, false, i), "K element " + i);
                    assertEquals(i * 0.25f - 7, kv.read(layer, true, i), "V element " + i);
                }
            }
            engine.releaseImported(kv);
            assertEquals(engine.totalPages(), engine.freePages());
        }
    }

    @Test
    void reservationsAreAllOrNothing() throws Exception {
        try (Engine engine = engine(4)) {
            final EngineKvPageStore store = new EngineKvPageStore(engine);
            assertNull(store.reserve(13), "13 tokens need 5 pages of 3");
            assertEquals(4, engine.freePages());
            final KvReservation reservation = store.reserve(12);
            assertEquals(0, engine.freePages());
            store.release(reservation);
            assertEquals(4, engine.freePages());
        }
    }
}
