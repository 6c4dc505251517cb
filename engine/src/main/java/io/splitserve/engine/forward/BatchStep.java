package io.splitserve.engine.forward;

import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import java.util.Arrays;

/**
 * The flat metadata of one batch step, the only thing a backend needs besides weights and KV pools: the step's
 * tokens packed sequence after sequence without padding, and per sequence where its query rows start, how long its
 * context is and which pages hold it. A CUDA backend copies these arrays to the device once per step.
 *
 * <p>Per token {@code t < numTokens()}: {@code tokenIds[t]}, {@code positions[t]}, and {@code slotMapping[t]} (where
 * its K/V goes). Per sequence {@code s < numSeqs()}: query rows {@code queryStarts[s] .. queryStarts[s+1]-1},
 * {@code contextLens[s]} (cached tokens plus this step's), and pages
 * {@code blockTables[s * blockTableStride() ..]}. Rows whose logits are wanted are listed in {@code logitRows}, in
 * sequence order. Per page copy {@code c < numPageCopies()}: {@code pageCopies[3c .. 3c + 2]} = (source page,
 * destination page, leading rows), K and V of every layer, which the runner runs before the step writes any KV (copy
 * on write of a cached page's rows into a prompt's own page). The arrays may be longer than the counts; they are
 * reused from step to step, growing as needed.
 */
public final class BatchStep {
    /** Which of a sequence's query rows need logits. */
    public enum Logits {
        /** None (e.g. a prefill chunk that does not end the prompt). */
        NONE,
        /** The last row: the next-token distribution. */
        LAST,
        /** Every row (prompt scoring and golden checks). */
        ALL
    }

    private int numTokens;
    private int numSeqs;
    private int numLogitRows;
    private int blockTableStride = 1;
    private int[] tokenIds = new int[64];
    private int[] positions = new int[64];
    private int[] slotMapping = new int[64];
    private int[] queryStarts = new int[17];
    private int[] contextLens = new int[16];
    private int[] blockTables = new int[16];
    private int[] logitRows = new int[16];
    private int numPageCopies;
    private int[] pageCopies = new int[12];

    /** Empties the step, keeping its arrays. */
    public void clear() {
        numTokens = 0;
        numSeqs = 0;
        numLogitRows = 0;
        numPageCopies = 0;
        queryStarts[0] = 0;
    }

    /**
     * Adds a page copy to run before the step writes any KV: the leading {@code rows} rows of page {@code source} into
     * page {@code destination}, K and V of every layer.
     */
    public void addPageCopy(int source, int destination, int rows) {
        if (source < 0 || destination < 0 || source == destination || rows <= 0) {
            throw new IllegalArgumentException("bad page copy: " + rows + " rows from page " + source + " to page "
                    + destination);
        }
        if (3 * numPageCopies + 3 > pageCopies.length) {
            pageCopies = Arrays.copyOf(pageCopies, 2 * pageCopies.length);
        }
        pageCopies[3 * numPageCopies] = source;
        pageCopies[3 * numPageCopies + 1] = destination;
        pageCopies[3 * numPageCopies + 2] = rows;
        numPageCopies++;
    }

    /**
     * Appends a sequence's {@code count} tokens {@code tokens[from .. from+count)} at positions
     * {@code firstPosition ..}; its block table must already cover {@code firstPosition + count} tokens.
     */
    public void addSequence(int[] tokens, int from, int count, int firstPosition, BlockTable table,
                            BlockManager blocks, Logits logits) {
        if (count <= 0) {
            throw new IllegalArgumentException("a sequence in a step needs at least one token, got " + count);
        }
        final int contextLen = firstPosition + count;
        if (blocks.pagesFor(contextLen) > table.pageCount()) {
            throw new IllegalArgumentException("block table of " + table.pageCount() + " pages cannot hold "
                    + contextLen + " tokens");
        }
        ensureTokenCapacity(numTokens + count, numLogitRows + count);
        ensureSequenceCapacity(numSeqs + 1, table.pageCount());
        for (int i = 0; i < count; i++) {
            final int row = numTokens + i;
            tokenIds[row] = tokens[from + i];
            positions[row] = firstPosition + i;
            slotMapping[row] = blocks.slot(table, firstPosition + i);
        }
        if (logits == Logits.ALL) {
            for (int i = 0; i < count; i++) {
                logitRows[numLogitRows++] = numTokens + i;
            }
        } else if (logits == Logits.LAST) {
            logitRows[numLogitRows++] = numTokens + count - 1;
        }
        table.copyTo(blockTables, numSeqs * blockTableStride);
        contextLens[numSeqs] = contextLen;
        numTokens += count;
        numSeqs++;
        queryStarts[numSeqs] = numTokens;
    }

    private void ensureTokenCapacity(int tokens, int logitRowCount) {
        if (tokens > tokenIds.length) {
            final int n = Math.max(tokens, tokenIds.length * 2);
            tokenIds = Arrays.copyOf(tokenIds, n);
            positions = Arrays.copyOf(positions, n);
            slotMapping = Arrays.copyOf(slotMapping, n);
        }
        if (logitRowCount > logitRows.length) {
            logitRows = Arrays.copyOf(logitRows, Math.max(logitRowCount, logitRows.length * 2));
        }
    }

    /** Grows per-sequence arrays and, when a table is wider than the stride, re-lays the block tables out. */
    private void ensureSequenceCapacity(int seqs, int pages) {
        if (seqs + 1 > queryStarts.length) {
            final int n = Math.max(seqs + 1, queryStarts.length * 2);
            queryStarts = Arrays.copyOf(queryStarts, n);
            contextLens = Arrays.copyOf(contextLens, n);
        }
        final int stride = Math.max(blockTableStride, pages);
        final int needed = seqs * stride;
        if (stride != blockTableStride || needed > blockTables.length) {
            final int[] wider = new int[needed > blockTables.length ? Math.max(needed, 2 * blockTables.length)
                    : blockTables.length];
            for (int s = 0; s < numSeqs; s++) {
                System.arraycopy(blockTables, s * blockTableStride, wider, s * stride, blockTableStride);
            }
            blockTables = wider;
            blockTableStride = stride;
        }
    }

    public int numTokens() {
        return numTokens;
    }

    public int numSeqs() {
        return numSeqs;
    }

    public int numLogitRows() {
        return numLogitRows;
    }

    public int blockTableStride() {
        return blockTableStride;
    }

    public int[] tokenIds() {
        return tokenIds;
    }

    public int[] positions() {
        return positions;
    }

    public int[] slotMapping() {
        return slotMapping;
    }

    /** {@code numSeqs() + 1} entries: cumulative query row starts. */
    public int[] queryStarts() {
        return queryStarts;
    }

    public int[] contextLens() {
        return contextLens;
    }

    public int[] blockTables() {
        return blockTables;
    }

    public int[] logitRows() {
        return logitRows;
    }

    public int numPageCopies() {
        return numPageCopies;
    }

    /** {@code 3 * numPageCopies()} entries: (source page, destination page, rows) per copy. */
    public int[] pageCopies() {
        return pageCopies;
    }

    /** The longest context in the step (sizes attention scratch). */
    public int maxContextLen() {
        int max = 0;
        for (int s = 0; s < numSeqs; s++) {
            max = Math.max(max, contextLens[s]);
        }
        return max;
    }
}
