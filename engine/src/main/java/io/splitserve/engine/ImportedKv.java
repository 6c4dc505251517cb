package io.splitserve.engine;

import io.splitserve.engine.forward.KvImportBuffer;
import io.splitserve.engine.kv.BlockTable;
import java.nio.ByteBuffer;

/**
 * Pages of an engine's own KV pool reserved for a sequence whose KV was computed elsewhere (a prefill node), plus
 * the host memory its KV is written into piece by piece in the wire's logical layout: per layer, K and V each
 * {@code [tokens][kvHeads][headDim]} elements of {@link Engine#kvWireType()}, little-endian. Byte {@code b} of a layer
 * part belongs to token {@code b / rowBytes}, so writes need not know the page size the sender used; the engine
 * scatters the whole sequence onto its pages at {@link Engine#admitImported} in one copy per layer part.
 *
 * <p>Owned by the engine's thread. Ends in exactly one of {@link Engine#admitImported} (the pages become the
 * sequence's) or {@link Engine#releaseImported} (they return to the pool); either hands the host memory back.
 */
public final class ImportedKv {
    private final int tokens;
    private final int rowBytes;
    private final int layers;
    final KvImportBuffer buffer;
    final BlockTable table = new BlockTable();
    boolean settled;

    ImportedKv(int tokens, int rowBytes, int layers, KvImportBuffer buffer) {
        this.tokens = tokens;
        this.rowBytes = rowBytes;
        this.layers = layers;
        this.buffer = buffer;
    }

    /** Tokens of KV these pages hold. */
    public int tokens() {
        return tokens;
    }

    /** Bytes in one layer part ({@code tokens * kvHeads * headDim * elementBytes}). */
    public long partBytes() {
        return (long) tokens * rowBytes;
    }

    /**
     * The host memory the KV is written into; layer {@code layer}'s K (or V) starts at {@link #partOffset}. Write with
     * absolute indexes only, before admission.
     */
    public ByteBuffer bytes() {
        checkOpen();
        return buffer.bytes();
    }

    /** Where layer {@code layer}'s K ({@code value} false) or V begins in {@link #bytes()}. */
    public int partOffset(int layer, boolean value) {
        if (layer < 0 || layer >= layers) {
            throw new IndexOutOfBoundsException("layer " + layer + " outside " + layers + " layers");
        }
        return (int) ((2L * layer + (value ? 1 : 0)) * partBytes());
    }

    private void checkOpen() {
        if (settled) {
            throw new IllegalStateException("imported KV was already admitted or released");
        }
    }
}
