package io.splitserve.kernels.cpu;

import java.util.Arrays;

/**
 * Causal grouped-query attention over a paged KV cache for a ragged batch; the same op serves prefill (many query
 * rows per sequence), decode (one row per sequence) and any mix of the two in one step.
 *
 * <p>Per sequence {@code s}: its query rows are {@code queryStarts[s] .. queryStarts[s+1]-1} of
 * {@code q[tokens][heads][headDim]}; {@code contextLens[s]} counts every token whose K/V is already in the pool,
 * the step's own tokens included (write the KV first). Query row {@code j} of a sequence with {@code n} query rows
 * sits at position {@code contextLens[s] - n + j} and attends to positions {@code 0..} that one. Position {@code p}
 * lives in page {@code blockTables[s * blockTableStride + p / pageSize]} at offset {@code p % pageSize} of the pools
 * {@code [pages][pageSize][kvHeads][headDim]}. Query head {@code h} reads KV head {@code h / (heads / kvHeads)}.
 * Scores are {@code scale · q·k}, softmax in fp32 with the row maximum subtracted; the output is dense
 * {@code [tokens][heads][headDim]}.
 */
public final class PagedAttention {
    private PagedAttention() {
    }

    /** Attention over dense query rows {@code q[tokens][heads][headDim]}. */
    public static void attend(float[] q, int numSeqs, int[] queryStarts, int[] contextLens, int[] blockTables,
                              int blockTableStride, float[] kPool, float[] vPool, int pageSize, int heads,
                              int kvHeads, int headDim, float scale, float[] out, float[] scores) {
        attend(q, heads * headDim, numSeqs, queryStarts, contextLens, blockTables, blockTableStride, kPool, vPool,
                pageSize, heads, kvHeads, headDim, scale, out, scores);
    }

    /**
     * @param qRowStride floats from one query row to the next; each row's heads start at its beginning (so fused
     *                   {@code [q | k | v]} rows are read in place); {@code out} is dense, {@code heads * headDim}
     *                   per row
     * @param scores scratch of at least the longest context length in the batch (not read, only overwritten)
     */
    public static void attend(float[] q, int qRowStride, int numSeqs, int[] queryStarts, int[] contextLens,
                              int[] blockTables, int blockTableStride, float[] kPool, float[] vPool, int pageSize,
                              int heads, int kvHeads, int headDim, float scale, float[] out, float[] scores) {
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException(heads + " query heads are not a multiple of " + kvHeads + " KV heads");
        }
        final int group = heads / kvHeads;
        final int kvWidth = kvHeads * headDim;
        for (int s = 0; s < numSeqs; s++) {
            final int firstRow = queryStarts[s];
            final int queryRows = queryStarts[s + 1] - firstRow;
            final int contextLen = contextLens[s];
            if (queryRows > contextLen) {
                throw new IllegalArgumentException("sequence " + s + " has " + queryRows
                        + " query rows but a context of only " + contextLen);
            }
            final int tableBase = s * blockTableStride;
            for (int j = 0; j < queryRows; j++) {
                final int visible = contextLen - queryRows + j + 1;
                final int row = firstRow + j;
                for (int h = 0; h < heads; h++) {
                    final int qOff = row * qRowStride + h * headDim;
                    final int outOff = (row * heads + h) * headDim;
                    final int kvHeadOff = (h / group) * headDim;
                    float max = Float.NEGATIVE_INFINITY;
                    for (int p = 0; p < visible; p++) {
                        final int slot = blockTables[tableBase + p / pageSize] * pageSize + p % pageSize;
                        final float score = CpuOps.dot(q, qOff, kPool, slot * kvWidth + kvHeadOff, headDim) * scale;
                        scores[p] = score;
                        if (score > max) {
                            max = score;
                        }
                    }
                    float sum = 0f;
                    for (int p = 0; p < visible; p++) {
                        final float e = (float) Math.exp(scores[p] - max);
                        scores[p] = e;
                        sum += e;
                    }
                    final float inv = 1f / sum;
                    Arrays.fill(out, outOff, outOff + headDim, 0f);
                    for (int p = 0; p < visible; p++) {
                        final int slot = blockTables[tableBase + p / pageSize] * pageSize + p % pageSize;
                        final int vOff = slot * kvWidth + kvHeadOff;
                        final float weight = scores[p] * inv;
                        for (int d = 0; d < headDim; d++) {
                            out[outOff + d] += weight * vPool[vOff + d];
                        }
                    }
                }
            }
        }
    }
}
