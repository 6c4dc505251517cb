package io.splitserve.kernels.cuda;

import java.util.Random;

/** Fragmented page tables for attention tests: sequences get pages from a shuffled pool, never contiguous runs. */
final class TestPages {
    private TestPages() {
    }

    static int[] shuffled(Random rnd, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /**
     * Block tables {@code [batch][maxBlocks]} for sequences of {@code lengths}, pages drawn in shuffled order
     * from a pool of {@code totalPages(lengths, pageSize) + spare} pages; unused entries are -1.
     */
    static int[] blockTables(Random rnd, int[] lengths, int pageSize, int maxBlocks, int poolPages) {
        int[] order = shuffled(rnd, poolPages);
        int[] tables = new int[lengths.length * maxBlocks];
        java.util.Arrays.fill(tables, -1);
        int next = 0;
        for (int s = 0; s < lengths.length; s++) {
            int blocks = (lengths[s] + pageSize - 1) / pageSize;
            for (int b = 0; b < blocks; b++) {
                tables[s * maxBlocks + b] = order[next++];
            }
        }
        return tables;
    }

    static int pagesNeeded(int[] lengths, int pageSize) {
        int pages = 0;
        for (int len : lengths) {
            pages += (len + pageSize - 1) / pageSize;
        }
        return pages;
    }
}
