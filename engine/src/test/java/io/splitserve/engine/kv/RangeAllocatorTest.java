package io.splitserve.engine.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Ranges never overlap, stay inside the region and aligned, merge back on release, and bad frees are refused. */
class RangeAllocatorTest {

    @Test
    void handsOutAlignedRangesFirstFitAndMergesThemBack() {
        final RangeAllocator ranges = new RangeAllocator(1000, 64); // 960 usable
        assertEquals(960, ranges.capacity());
        final long a = ranges.allocate(100);
        final long b = ranges.allocate(64);
        final long c = ranges.allocate(1);
        assertEquals(0, a);
        assertEquals(128, b);
        assertEquals(192, c);
        assertEquals(960 - 256, ranges.freeBytes());
        assertEquals(-1, ranges.allocate(705), "more than is free");
        ranges.free(b);
        assertEquals(128, ranges.allocate(10), "first fit reuses the hole");
        ranges.free(128);
        ranges.free(a);
        ranges.free(c);
        assertEquals(960, ranges.largestFree(), "all merged into one range");
        assertEquals(0, ranges.rangesInUse());
    }

    @Test
    void refusesWhatWasNotHandedOut() {
        final RangeAllocator ranges = new RangeAllocator(4096, 256);
        final long a = ranges.allocate(300);
        assertThrows(IllegalArgumentException.class, () -> ranges.free(a + 256));
        ranges.free(a);
        assertThrows(IllegalArgumentException.class, () -> ranges.free(a));
        assertThrows(IllegalArgumentException.class, () -> ranges.allocate(0));
        assertThrows(IllegalArgumentException.class, () -> new RangeAllocator(4096, 100));
    }

    @Test
    void randomUseKeepsRangesDisjointAndTheBooksExact() {
        final RangeAllocator ranges = new RangeAllocator(1 << 20, 256);
        final Random random = new Random(7);
        final List<long[]> live = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            if (!live.isEmpty() && random.nextInt(3) == 0) {
                ranges.free(live.remove(random.nextInt(live.size()))[0]);
            } else {
                final long size = 1 + random.nextInt(40_000);
                final long offset = ranges.allocate(size);
                if (offset >= 0) {
                    assertEquals(0, offset % 256);
                    assertTrue(offset + size <= ranges.capacity());
                    for (long[] other : live) {
                        assertTrue(offset + size <= other[0] || other[0] + other[1] <= offset, "overlap");
                    }
                    live.add(new long[] {offset, size});
                }
            }
            long used = 0;
            for (long[] range : live) {
                used += (range[1] + 255) / 256 * 256;
            }
            assertEquals(ranges.capacity(), ranges.freeBytes() + used);
        }
    }
}
