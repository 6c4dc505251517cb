package io.splitserve.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.ImportedKv;
import io.splitserve.engine.StepOutput;
import io.splitserve.engine.demo.DemoModel;
import io.splitserve.model.SamplingParams;
import io.splitserve.kvtransfer.KvReservation;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * The decode engine's KV pool as a KV page store: bytes arriving in pieces that split floats anywhere land at their
 * logical place in the import's memory; with layer import each layer reaches the pages as soon as its K and V are
 * complete, in whatever order pieces and layers arrive, and a range written twice still leaves the final bytes in the
 * pages; with whole import nothing reaches the pages before admission; the store speaks the engine's element type, and
 * reservations are all or nothing.
 */
class EngineKvPageStoreTest {
    private static final int[] PROMPT = {17, 400, 3, 99, 1000, 256, 8, 77, 512, 640, 12, 13, 900, 41, 5, 600, 33, 2,
        700, 808, 64, 128, 19, 21, 250};
    private static final int STEPS = 8;
    private static final int PIECE = 7; // splits most floats

    private static Path demo() throws Exception {
        return DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
    }

    private static Engine engine(int pages) throws Exception {
        return Engine.load(demo(), new EngineOptions().pageSize(3).maxPages(pages));
    }

    /** A prompt's KV as a prefill engine streams it ({@code [layer][K, V]} wire bytes) and its first token. */
    private record Streamed(byte[][][] parts, int firstToken) {
        /** One write of a piece of layer {@code layer}'s part, as the receiver makes it. */
        void write(EngineKvPageStore store, KvReservation reservation, int layer, boolean value, int offset,
                   int length) {
            store.write(reservation, layer, value ? KvPart.V : KvPart.K, offset,
                    new UnsafeBuffer(parts[layer][value ? 1 : 0]), offset, length);
        }
    }

    private static Streamed prefill(int[] prompt) throws Exception {
        try (Engine prefill = Engine.load(demo(), new EngineOptions())) {
            final byte[][][] parts = new byte[prefill.config().numLayers()][2][];
            final int first = prefill.prefill(List.of(prompt), List.of(SamplingParams.greedy()),
                    (p, layer, keys, keyOffset, values, valueOffset, tokens) -> {
                        final int bytes = tokens * prefill.config().kvDim() * Float.BYTES;
                        parts[layer][0] = new byte[bytes];
                        parts[layer][1] = new byte[bytes];
                        keys.get(keyOffset, parts[layer][0]);
                        values.get(valueOffset, parts[layer][1]);
                    })[0];
            return new Streamed(parts, first);
        }
    }

    private static int[] generateInOneEngine(int[] prompt) throws Exception {
        try (Engine engine = Engine.load(demo(), new EngineOptions())) {
            engine.addSequence(prompt, SamplingParams.greedy());
            final int[] out = new int[STEPS];
            for (int n = 0; n < STEPS; n++) {
                out[n] = engine.step().get(0).token();
            }
            return out;
        }
    }

    private static int[] admitAndDecode(Engine engine, ImportedKv kv, int firstToken) {
        final long id = engine.admitImported(kv, firstToken, SamplingParams.greedy(), 1);
        final int[] out = new int[STEPS];
        out[0] = firstToken;
        for (int n = 1; n < STEPS; n++) {
            final List<StepOutput> step = engine.step();
            assertEquals(id, step.get(0).sequenceId());
            out[n] = step.get(0).token();
        }
        engine.release(id);
        return out;
    }

    /** Every piece of every layer part, {@link #PIECE} bytes long, in a seeded random order. */
    private static List<int[]> shuffledPieces(int layers, int partBytes, long seed) {
        final List<int[]> pieces = new ArrayList<>();
        for (int layer = 0; layer < layers; layer++) {
            for (int value = 0; value < 2; value++) {
                for (int offset = 0; offset < partBytes; offset += PIECE) {
                    pieces.add(new int[] {layer, value, offset, Math.min(PIECE, partBytes - offset)});
                }
            }
        }
        Collections.shuffle(pieces, new Random(seed));
        return pieces;
    }

    /** Overwrites all of the import's host memory, behind the store's back. */
    private static void scribble(ImportedKv kv) {
        for (int i = 0; i < kv.bytes().capacity(); i++) {
            kv.bytes().put(i, (byte) 0x7f);
        }
    }

    @Test
    void layersCompletingInAnyOrderReachThePagesBeforeAdmission() throws Exception {
        final Streamed streamed = prefill(PROMPT);
        final int[] expected = generateInOneEngine(PROMPT);
        assertEquals(expected[0], streamed.firstToken());
        try (Engine engine = engine(24)) {
            final EngineKvPageStore store = new EngineKvPageStore(engine);
            final KvReservation reservation = store.reserve(PROMPT.length);
            final int partBytes = streamed.parts()[0][0].length;
            for (int[] piece : shuffledPieces(engine.config().numLayers(), partBytes, 7)) {
                streamed.write(store, reservation, piece[0], piece[1] == 1, piece[2], piece[3]);
            }
            final ImportedKv kv = store.take(reservation);
            scribble(kv); // every layer is in the pages already, so admission has nothing left to copy
            assertArrayEquals(expected, admitAndDecode(engine, kv, streamed.firstToken()));
            assertEquals(engine.totalPages(), engine.freePages());
        }
    }

    @Test
    void wholeImportLeavesEveryLayerInHostMemoryUntilAdmission() throws Exception {
        final Streamed streamed = prefill(PROMPT);
        final int[] expected = generateInOneEngine(PROMPT);
        try (Engine engine = engine(24)) {
            final EngineKvPageStore store = new EngineKvPageStore(engine, false);
            final int partBytes = streamed.parts()[0][0].length;
            final KvReservation intact = store.reserve(PROMPT.length);
            final KvReservation scribbled = store.reserve(PROMPT.length);
            for (int[] piece : shuffledPieces(engine.config().numLayers(), partBytes, 11)) {
                streamed.write(store, intact, piece[0], piece[1] == 1, piece[2], piece[3]);
                streamed.write(store, scribbled, piece[0], piece[1] == 1, piece[2], piece[3]);
            }
            assertArrayEquals(expected, admitAndDecode(engine, store.take(intact), streamed.firstToken()));
            final ImportedKv kv = store.take(scribbled);
            scribble(kv);
            assertFalse(Arrays.equals(expected, admitAndDecode(engine, kv, streamed.firstToken())),
                    "admission copied the scribbled host memory, so no layer was in the pages before");
        }
    }

    @Test
    void aRangeWrittenTwiceStillLeavesTheFinalBytesInThePages() throws Exception {
        final Streamed streamed = prefill(PROMPT);
        final int[] expected = generateInOneEngine(PROMPT);
        try (Engine engine = engine(24)) {
            final EngineKvPageStore store = new EngineKvPageStore(engine);
            final KvReservation reservation = store.reserve(PROMPT.length);
            final int partBytes = streamed.parts()[0][0].length;
            final int half = partBytes / 2;
            streamed.write(store, reservation, 0, true, 0, partBytes);
            streamed.write(store, reservation, 0, false, 0, half);
            streamed.write(store, reservation, 0, false, 0, half); // counts as much as the missing half: layer 0
            streamed.write(store, reservation, 0, false, half, partBytes - half); // ...so this rewrites it
            for (int layer = 1; layer < engine.config().numLayers(); layer++) {
                streamed.write(store, reservation, layer, false, 0, partBytes);
                streamed.write(store, reservation, layer, true, 0, partBytes);
            }
            assertArrayEquals(expected, admitAndDecode(engine, store.take(reservation), streamed.firstToken()));
        }
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
                    assertEquals(i * 0.25f - 7, kv.bytes().getFloat(kv.partOffset(layer, false) + i * 4), "K " + i);
                    assertEquals(i * 0.25f - 7, kv.bytes().getFloat(kv.partOffset(layer, true) + i * 4), "V " + i);
                }
            }
            engine.releaseImported(kv);
            assertEquals(engine.totalPages(), engine.freePages());
        }
    }

    @Test
    void theCpuEngineStoreSpeaksF32() throws Exception {
        try (Engine engine = engine(4)) {
            assertEquals(KvDtype.F32, new EngineKvPageStore(engine).geometry().dtype());
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

    @Test
    void aReservationLeavesTheStoreOnce() throws Exception {
        try (Engine engine = engine(4)) {
            final EngineKvPageStore store = new EngineKvPageStore(engine);
            final KvReservation reservation = store.reserve(6);
            final ImportedKv kv = store.take(reservation);
            assertThrows(IllegalStateException.class, () -> store.release(reservation));
            assertThrows(IllegalStateException.class, () -> store.take(reservation));
            assertThrows(IllegalStateException.class, () -> store.write(reservation, 0, KvPart.K, 0,
                    new UnsafeBuffer(new byte[4]), 0, 4), "a taken reservation's pages belong to the caller");
            assertEquals(2, engine.freePages(), "the store freed nothing it no longer holds");
            engine.releaseImported(kv);
            assertEquals(4, engine.freePages());
        }
    }
}
