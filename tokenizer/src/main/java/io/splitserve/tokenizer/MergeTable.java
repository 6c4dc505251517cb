package io.splitserve.tokenizer;

/**
 * BPE merge rules as an open-addressing map from a pair of token ids to (rank, merged id), so that the merge loop
 * looks pairs up without boxing. Keys and values are packed into longs; the table is written once at load time and
 * only read afterwards, which makes it safe to share between threads.
 */
final class MergeTable {
    static final long ABSENT = -1L;
    private static final long EMPTY_KEY = -1L;

    private final long[] keys;
    private final long[] values;
    private final int mask;

    MergeTable(int expectedMerges) {
        int capacity = Integer.highestOneBit(Math.max(4, expectedMerges * 2 - 1)) << 1;
        keys = new long[capacity];
        values = new long[capacity];
        mask = capacity - 1;
        java.util.Arrays.fill(keys, EMPTY_KEY);
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 33) & mask;
    }

    /** Adds a rule; a later rule for the same pair replaces the earlier one, as Hugging Face's loader does. */
    void put(int left, int right, int rank, int mergedId) {
        long key = key(left, right);
        int i = slot(key);
        while (keys[i] != EMPTY_KEY && keys[i] != key) {
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = ((long) rank << 32) | (mergedId & 0xFFFFFFFFL);
    }

    /** (rank << 32 | mergedId) for the pair, or {@link #ABSENT}. */
    long get(int left, int right) {
        long key = key(left, right);
        int i = slot(key);
        while (keys[i] != EMPTY_KEY) {
            if (keys[i] == key) {
                return values[i];
            }
            i = (i + 1) & mask;
        }
        return ABSENT;
    }

    static int rankOf(long entry) {
        return (int) (entry >>> 32);
    }

    static int mergedIdOf(long entry) {
        return (int) entry;
    }
}
