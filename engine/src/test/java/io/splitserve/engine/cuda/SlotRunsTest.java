package io.splitserve.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.splitserve.engine.forward.BatchStep;
import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The copy plan behind layer-wise KV export: the runs cover every written row exactly once, each mapping rows to the
 * slots the step wrote them to, and merge as far as the pages are adjacent, whatever the page size.
 */
class SlotRunsTest {

    /** Expands the runs back to a slot per row (-1 where no run covers the row). */
    private static int[] expand(SlotRuns runs, int tokens) {
        final int[] slots = new int[tokens];
        Arrays.fill(slots, -1);
        for (int i = 0; i < runs.count(); i++) {
            for (int j = 0; j < runs.length(i); j++) {
                assertEquals(-1, slots[runs.row(i) + j], "row " + (runs.row(i) + j) + " is in two runs");
                slots[runs.row(i) + j] = runs.slot(i) + j;
            }
        }
        return slots;
    }

    @Test
    void freshPagesMakeOneRunPerPromptWhateverThePageSize() {
        for (int pageSize : new int[] {1, 3, 16}) {
            final BlockManager blocks = new BlockManager(64, pageSize);
            final BatchStep step = new BatchStep();
            final BlockTable a = new BlockTable();
            final BlockTable b = new BlockTable();
            final int[] promptA = new int[11];
            final int[] promptB = new int[7];
            blocks.ensureCapacity(a, promptA.length);
            blocks.ensureCapacity(b, promptB.length);
            step.addSequence(promptA, 0, promptA.length, 0, a, blocks, BatchStep.Logits.LAST);
            step.addSequence(promptB, 0, promptB.length, 0, b, blocks, BatchStep.Logits.LAST);
            final SlotRuns runs = new SlotRuns();
            runs.plan(step.slotMapping(), step.numTokens());
            assertArrayEquals(Arrays.copyOf(step.slotMapping(), step.numTokens()),
                    expand(runs, step.numTokens()), "page size " + pageSize);
            assertEquals(pageSize == 1 || 11 % pageSize == 0 ? 1 : 2, runs.count(),
                    "page size " + pageSize + ": prompt A ends mid-page, so B's first page is not adjacent");
        }
    }

    @Test
    void runsBreakWherePagesAreNotAdjacentAndSkipUnwrittenRows() {
        final int[] slots = {30, 31, 32, 6, 7, 8, -1, 9, 10, 50};
        final SlotRuns runs = new SlotRuns();
        runs.plan(slots, slots.length);
        assertEquals(4, runs.count());
        assertEquals(0, runs.row(0));
        assertEquals(30, runs.slot(0));
        assertEquals(3, runs.length(0));
        assertEquals(3, runs.row(1));
        assertEquals(3, runs.length(1));
        assertEquals(7, runs.row(2), "a skipped row breaks the run: rows 6 and 7 are not adjacent in the buffer");
        assertEquals(9, runs.slot(2));
        assertEquals(9, runs.row(3));
        assertArrayEquals(new int[] {30, 31, 32, 6, 7, 8, -1, 9, 10, 50}, expand(runs, slots.length));
    }

    @Test
    void manyRunsGrowTheirBuffers() {
        final int[] slots = new int[100];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = 2 * i;
        }
        final SlotRuns runs = new SlotRuns();
        runs.plan(slots, slots.length);
        assertEquals(100, runs.count());
        assertArrayEquals(slots, expand(runs, slots.length));
        runs.plan(slots, 0);
        assertEquals(0, runs.count(), "a new plan forgets the old one");
    }
}
