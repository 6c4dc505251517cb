package io.splitserve.engine;

import io.splitserve.engine.forward.CpuKvCache;
import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;

/**
 * Pages of an engine's own KV pool reserved for a sequence whose KV was computed elsewhere (a prefill node) and is
 * written in here piece by piece in the wire's logical layout: per layer, K and V each {@code [tokens][kvHeads]
 * [headDim]}. Element {@code e} of a layer part is token {@code e / kvDim}, so writes are scattered onto this engine's
 * pages whatever page size the sender used.
 *
 * <p>Owned by the engine's thread. Ends in exactly one of {@link Engine#admitImported} (the pages become the
 * sequence's) or {@link Engine#releaseImported} (they return to the pool).
 */
public final class ImportedKv {
    private final BlockManager blocks;
    private final CpuKvCache cache;
    private final int tokens;
    private final int kvDim;
    final BlockTable table = new BlockTable();
    boolean settled;

    ImportedKv(BlockManager blocks, CpuKvCache cache, int tokens, int kvDim) {
        this.blocks = blocks;
        this.cache = cache;
        this.tokens = tokens;
        this.kvDim = kvDim;
    }

    /** Tokens of KV these pages hold. */
    public int tokens() {
        return tokens;
    }

    /** Elements in one layer part ({@code tokens * kvHeads * headDim}). */
    public long partElements() {
        return (long) tokens * kvDim;
    }

    /** Copies {@code count} floats of {@code src} into layer {@code layer}'s K (or V) from logical element {@code element}. */
    public void write(int layer, boolean value, long element, float[] src, int srcOffset, int count) {
        checkRange(element, count);
        final float[] pool = value ? cache.values(layer) : cache.keys(layer);
        int done = 0;
        while (done < count) {
            final long e = element + done;
            final int token = (int) (e / kvDim);
            final int inRow = (int) (e % kvDim);
            final int run = Math.min(count - done, kvDim - inRow);
            System.arraycopy(src, srcOffset + done, pool, blocks.slot(table, token) * kvDim + inRow, run);
            done += run;
        }
    }

    /** Reads one logical element back (lets a writer patch an element whose bytes arrive in two pieces). */
    public float read(int layer, boolean value, long element) {
        checkRange(element, 1);
        final float[] pool = value ? cache.values(layer) : cache.keys(layer);
        return pool[blocks.slot(table, (int) (element / kvDim)) * kvDim + (int) (element % kvDim)];
    }

    private void checkRange(long element, int count) {
        if (settled) {
            throw new IllegalStateException("imported KV was already admitted or released");
        }
        if (element < 0 || count < 0 || element + count > partElements()) {
            throw new IndexOutOfBoundsException("elements [" + element + ", " + (element + count) + ") outside "
                    + partElements() + " of one layer part");
        }
    }
}
