package io.splitserve.engine;

import io.splitserve.engine.forward.KvImportBuffer;
import io.splitserve.engine.kv.BlockTable;
import java.nio.ByteBuffer;

/**
 * Pages of an engine's own KV pool reserved for a sequence whose KV was computed elsewhere (a prefill node), plus
 * the host memory its KV is written into piece by piece in the wire's logical layout: per layer, K and V each
 * {@code [tokens][kvHeads][headDim]} elements of {@link Engine#kvWireType()}, little-endian. Byte {@code b} of a layer
 * part belongs to token {@code b / rowBytes}, so writes need not know the page size the sender used. The engine
 * scatters each layer onto the pages either as soon as that layer has arrived ({@link Engine#importLayer}) or, for
 * the layers not imported so, at {@link Engine#admitImported}.
 *
 * <p>A sequence whose leading tokens' KV this engine already holds in its prefix cache imports only the rest: its first
 * {@link #cachedTokens()} tokens share cached pages, and the host memory, the slots and every layer copy cover the
 * {@link #importedTokens()} after them, row 0 being token {@code cachedTokens}.
 *
 * <p>Owned by the engine's thread. Ends in exactly one of {@link Engine#admitImported} (the pages become the
 * sequence's) or {@link Engine#releaseImported} (they return to the pool); either waits for the layer copies still
 * running and hands the host memory back.
 */
public final class ImportedKv {
    private final int tokens;
    private final int cachedTokens;
    private final int rowBytes;
    private final int layers;
    final KvImportBuffer buffer;
    final BlockTable table = new BlockTable();
    /** The slot of each imported token (token {@code cachedTokens + i} at {@code slots[i]}), fixed at reservation. */
    final int[] slots;
    /** Layers whose pages hold the bytes now in {@link #buffer}; admission imports the others. */
    final boolean[] layerImported;
    /** Copied from another engine's device memory: no host bytes, every layer imported before admission. */
    final boolean fromDevice;
    /** The ids of the tokens whose KV this is, when the sender gave them (then admission may cache the pages). */
    final int[] tokenIds;
    boolean settled;

    ImportedKv(int tokens, int cachedTokens, int rowBytes, int layers, KvImportBuffer buffer, boolean fromDevice,
               int[] tokenIds) {
        this.fromDevice = fromDevice;
        this.tokenIds = tokenIds;
        this.tokens = tokens;
        this.cachedTokens = cachedTokens;
        this.rowBytes = rowBytes;
        this.layers = layers;
        this.buffer = buffer;
        this.slots = new int[tokens - cachedTokens];
        this.layerImported = new boolean[layers];
    }

    /** Tokens of KV the sequence's pages hold once admitted: the cached ones and the imported ones. */
    public int tokens() {
        return tokens;
    }

    /** Leading tokens whose KV comes from pages of this engine's prefix cache, not from elsewhere. */
    public int cachedTokens() {
        return cachedTokens;
    }

    /** Tokens whose KV is written in from elsewhere: those after the cached ones. */
    public int importedTokens() {
        return tokens - cachedTokens;
    }

    /** Bytes in one layer part ({@code importedTokens * kvHeads * headDim * elementBytes}). */
    public long partBytes() {
        return (long) importedTokens() * rowBytes;
    }

    /**
     * The host memory the KV is written into; layer {@code layer}'s K (or V) starts at {@link #partOffset}. Write with
     * absolute indexes only, before admission; once a layer is imported, tell {@link #layerRewritten} about any later
     * write into it.
     */
    public ByteBuffer bytes() {
        checkOpen();
        if (fromDevice) {
            throw new IllegalStateException("a device import has no host memory; its layers come from device memory");
        }
        return buffer.bytes();
    }

    /** Where layer {@code layer}'s K ({@code value} false) or V begins in {@link #bytes()}. */
    public int partOffset(int layer, boolean value) {
        checkLayer(layer);
        return (int) ((2L * layer + (value ? 1 : 0)) * partBytes());
    }

    /** Layers of KV, each one K part and one V part. */
    public int layers() {
        return layers;
    }

    /**
     * Says that bytes of {@code layer} changed after {@link Engine#importLayer} copied it (a range written twice), so
     * admission imports it again and the pages end up holding what the host memory holds then.
     */
    public void layerRewritten(int layer) {
        checkOpen();
        checkLayer(layer);
        layerImported[layer] = false;
    }

    void checkLayer(int layer) {
        if (layer < 0 || layer >= layers) {
            throw new IndexOutOfBoundsException("layer " + layer + " outside " + layers + " layers");
        }
    }

    void checkOpen() {
        if (settled) {
            throw new IllegalStateException("imported KV was already admitted or released");
        }
    }
}
