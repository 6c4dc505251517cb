package io.splitserve.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Paged attention against dense causal softmax attention computed in double over contiguous K/V, with the pages of
 * every sequence scattered over the pool in shuffled order, ragged query counts (prefill, decode and a chunk in one
 * batch) and context lengths around page boundaries.
 */
class PagedAttentionTest {
    private static final int HEADS = 4;
    private static final int KV_HEADS = 2;
    private static final int HEAD_DIM = 16;
    private static final int KV_WIDTH = KV_HEADS * HEAD_DIM;

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 16, 64})
    void raggedBatchOverShuffledPagesMatchesDenseAttention(int pageSize) {
        final Random random = new Random(pageSize);
        final int[] contextLens = {1, 2, 63, 64, 65, 65, 40};
        final int[] queryCounts = {1, 2, 63, 1, 65, 3, 1}; // full prefills, decodes, and a 3-token chunk
        final int numSeqs = contextLens.length;

        int maxPagesPerSeq = 0;
        int totalPages = 0;
        for (int len : contextLens) {
            final int pages = (len + pageSize - 1) / pageSize;
            maxPagesPerSeq = Math.max(maxPagesPerSeq, pages);
            totalPages += pages;
        }
        final int poolPages = totalPages + 3; // a few pages nobody owns
        final List<Integer> freePages = new ArrayList<>();
        for (int p = 0; p < poolPages; p++) {
            freePages.add(p);
        }
        Collections.shuffle(freePages, random);
        final int[] blockTables = new int[numSeqs * maxPagesPerSeq];
        int next = 0;
        for (int s = 0; s < numSeqs; s++) {
            final int pages = (contextLens[s] + pageSize - 1) / pageSize;
            for (int i = 0; i < pages; i++) {
                blockTables[s * maxPagesPerSeq + i] = freePages.get(next++);
            }
        }

        final float[] kPool = new float[poolPages * pageSize * KV_WIDTH];
        final float[] vPool = new float[poolPages * pageSize * KV_WIDTH];
        Arrays.fill(kPool, Float.NaN); // unwritten slots must never be read
        Arrays.fill(vPool, Float.NaN);
        final float[][] denseK = new float[numSeqs][];
        final float[][] denseV = new float[numSeqs][];
        for (int s = 0; s < numSeqs; s++) {
            final int len = contextLens[s];
            denseK[s] = gaussian(random, len * KV_WIDTH);
            denseV[s] = gaussian(random, len * KV_WIDTH);
            final int[] slots = new int[len];
            for (int p = 0; p < len; p++) {
                slots[p] = blockTables[s * maxPagesPerSeq + p / pageSize] * pageSize + p % pageSize;
            }
            CpuOps.writeKv(denseK[s], denseV[s], len, slots, kPool, vPool, KV_HEADS, HEAD_DIM);
        }

        final int[] queryStarts = new int[numSeqs + 1];
        for (int s = 0; s < numSeqs; s++) {
            queryStarts[s + 1] = queryStarts[s] + queryCounts[s];
        }
        final int tokens = queryStarts[numSeqs];
        final float[] q = gaussian(random, tokens * HEADS * HEAD_DIM);
        final float scale = (float) (1 / Math.sqrt(HEAD_DIM));
        final float[] out = new float[q.length];
        PagedAttention.attend(q, numSeqs, queryStarts, contextLens, blockTables, maxPagesPerSeq, kPool, vPool,
                pageSize, HEADS, KV_HEADS, HEAD_DIM, scale, out, new float[65]);

        for (int s = 0; s < numSeqs; s++) {
            for (int j = 0; j < queryCounts[s]; j++) {
                final int row = queryStarts[s] + j;
                final int position = contextLens[s] - queryCounts[s] + j;
                for (int h = 0; h < HEADS; h++) {
                    final double[] expected = denseAttention(q, row, h, denseK[s], denseV[s], position, scale);
                    for (int d = 0; d < HEAD_DIM; d++) {
                        assertEquals(expected[d], out[(row * HEADS + h) * HEAD_DIM + d], 1e-5,
                                "seq " + s + " row " + j + " head " + h + " dim " + d);
                    }
                }
            }
        }
    }

    private static double[] denseAttention(float[] q, int row, int h, float[] k, float[] v, int position,
                                           float scale) {
        final int kvHead = h / (HEADS / KV_HEADS);
        final double[] scores = new double[position + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int p = 0; p <= position; p++) {
            double s = 0;
            for (int d = 0; d < HEAD_DIM; d++) {
                s += (double) q[(row * HEADS + h) * HEAD_DIM + d] * k[p * KV_WIDTH + kvHead * HEAD_DIM + d];
            }
            scores[p] = s * scale;
            max = Math.max(max, scores[p]);
        }
        double sum = 0;
        for (int p = 0; p <= position; p++) {
            scores[p] = Math.exp(scores[p] - max);
            sum += scores[p];
        }
        final double[] out = new double[HEAD_DIM];
        for (int p = 0; p <= position; p++) {
            for (int d = 0; d < HEAD_DIM; d++) {
                out[d] += scores[p] / sum * v[p * KV_WIDTH + kvHead * HEAD_DIM + d];
            }
        }
        return out;
    }

    private static float[] gaussian(Random random, int n) {
        final float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) random.nextGaussian();
        }
        return a;
    }

    @Test
    void rejectsMoreQueryRowsThanContext() {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PagedAttention.attend(new float[2 * HEAD_DIM], 1, new int[] {0, 2}, new int[] {1},
                        new int[] {0}, 1, new float[KV_WIDTH * 4], new float[KV_WIDTH * 4], 4, 1, 1, HEAD_DIM, 1f,
                        new float[2 * HEAD_DIM], new float[4]));
        assertEquals("sequence 0 has 2 query rows but a context of only 1", e.getMessage());
    }
}
