package io.splitserve.engine.forward;

import io.splitserve.kernels.cpu.CpuOps;

/**
 * The KV page pools of every layer in fp32 on the heap: per layer one array for K and one for V, each
 * {@code [pages][pageSize][kvHeads][headDim]}, addressed by slot as {@code PagedAttention} expects. Page ownership is
 * tracked elsewhere ({@code BlockManager}); this class only holds the bytes.
 */
public final class CpuKvCache {
    private final float[][] keys;
    private final float[][] values;
    private final int pageSize;
    private final int pageCount;
    private final int rowWidth;

    public CpuKvCache(int layers, int pageCount, int pageSize, int kvHeads, int headDim) {
        final long perLayer = (long) pageCount * pageSize * kvHeads * headDim;
        if (perLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(pageCount + " pages of " + pageSize
                    + " tokens exceed one array per layer"
                    + " (" + maxPages(pageSize, kvHeads, headDim) + " pages at most)");
        }
        this.keys = new float[layers][(int) perLayer];
        this.values = new float[layers][(int) perLayer];
        this.pageSize = pageSize;
        this.pageCount = pageCount;
        this.rowWidth = kvHeads * headDim;
    }

    /**
     * Runs {@code count} page copies ({@link BatchStep#pageCopies()}: source page, destination page, leading rows),
     * K and V of every layer.
     */
    public void copyPages(int[] copies, int count) {
        for (int layer = 0; layer < keys.length; layer++) {
            CpuOps.copyPageRows(keys[layer], pageSize, rowWidth, copies, count);
            CpuOps.copyPageRows(values[layer], pageSize, rowWidth, copies, count);
        }
    }

    /** Largest page count one per-layer array can hold. */
    public static int maxPages(int pageSize, int kvHeads, int headDim) {
        return (int) ((Integer.MAX_VALUE - 8L) / ((long) pageSize * kvHeads * headDim));
    }

    /** Bytes one page takes across all layers, K and V. */
    public static long bytesPerPage(int layers, int pageSize, int kvHeads, int headDim) {
        return 2L * layers * pageSize * kvHeads * headDim * Float.BYTES;
    }

    public float[] keys(int layer) {
        return keys[layer];
    }

    public float[] values(int layer) {
        return values[layer];
    }

    public int pageSize() {
        return pageSize;
    }

    public int pageCount() {
        return pageCount;
    }
}
