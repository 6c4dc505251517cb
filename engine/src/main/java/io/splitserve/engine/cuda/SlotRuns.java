package io.splitserve.engine.cuda;

import java.util.Arrays;

/**
 * A step's rows grouped into runs whose KV slots are consecutive, so that copying the step's K (or V) out of the
 * page pool into a row-ordered buffer takes one copy per run instead of one per token: run {@code i} covers rows
 * {@code row(i) .. row(i) + length(i) - 1}, stored at slots {@code slot(i) ..}. Pages handed out in order make a
 * prompt one run however small the pages; a run breaks where the next page is not adjacent. Rows with a negative
 * slot (not written) belong to no run. Buffers grow only when a step has more runs than any before.
 */
final class SlotRuns {
    private int[] rows = new int[16];
    private int[] slots = new int[16];
    private int[] lengths = new int[16];
    private int count;

    /** Groups rows {@code 0 .. tokens - 1} of {@code slotMapping}. */
    void plan(int[] slotMapping, int tokens) {
        count = 0;
        for (int row = 0; row < tokens; row++) {
            final int slot = slotMapping[row];
            if (slot < 0) {
                continue;
            }
            if (count > 0 && rows[count - 1] + lengths[count - 1] == row
                    && slots[count - 1] + lengths[count - 1] == slot) {
                lengths[count - 1]++;
                continue;
            }
            if (count == rows.length) {
                rows = Arrays.copyOf(rows, 2 * count);
                slots = Arrays.copyOf(slots, 2 * count);
                lengths = Arrays.copyOf(lengths, 2 * count);
            }
            rows[count] = row;
            slots[count] = slot;
            lengths[count] = 1;
            count++;
        }
    }

    int count() {
        return count;
    }

    int row(int run) {
        return rows[run];
    }

    int slot(int run) {
        return slots[run];
    }

    int length(int run) {
        return lengths[run];
    }
}
