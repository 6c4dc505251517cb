package io.splitserve.engine.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Page accounting: growth, slots, all-or-nothing allocation, clear failure when out of pages, full release. */
class BlockManagerTest {

    @Test
    void growsTablesPageByPageAndMapsPositionsToSlots() {
        final BlockManager blocks = new BlockManager(8, 4);
        final BlockTable a = new BlockTable();
        final BlockTable b = new BlockTable();
        blocks.ensureCapacity(a, 5); // 2 pages
        blocks.ensureCapacity(b, 1); // 1 page
        blocks.ensureCapacity(a, 8); // still 2 pages
        assertEquals(2, a.pageCount());
        blocks.ensureCapacity(a, 9); // a third page, after b's
        assertEquals(3, a.pageCount());
        assertEquals(4, blocks.freePages());
        for (int p = 0; p < 9; p++) {
            assertEquals(a.page(p / 4) * 4 + p % 4, blocks.slot(a, p));
        }
        final Set<Integer> pages = new HashSet<>();
        for (int i = 0; i < a.pageCount(); i++) {
            pages.add(a.page(i));
        }
        pages.add(b.page(0));
        assertEquals(4, pages.size(), "no page is shared");
    }

    @Test
    void pageSizeOneAllocatesPerToken() {
        final BlockManager blocks = new BlockManager(5, 1);
        final BlockTable t = new BlockTable();
        blocks.ensureCapacity(t, 5);
        assertEquals(5, t.pageCount());
        assertEquals(0, blocks.freePages());
        assertEquals(t.page(3), blocks.slot(t, 3));
    }

    @Test
    void outOfPagesFailsClearlyAndTakesNothing() {
        final BlockManager blocks = new BlockManager(3, 2);
        final BlockTable t = new BlockTable();
        blocks.ensureCapacity(t, 3);
        final OutOfPagesException e = assertThrows(OutOfPagesException.class, () -> blocks.ensureCapacity(t, 9));
        assertEquals("KV cache out of pages: need 3, 1 free of 3", e.getMessage());
        assertEquals(2, t.pageCount(), "the failed call allocated nothing");
        assertEquals(1, blocks.freePages());
    }

    @Test
    void releaseReturnsEveryPage() {
        final BlockManager blocks = new BlockManager(10, 3);
        final BlockTable a = new BlockTable();
        final BlockTable b = new BlockTable();
        blocks.ensureCapacity(a, 14);
        blocks.ensureCapacity(b, 7);
        assertEquals(2, blocks.freePages());
        blocks.release(a);
        assertEquals(0, a.pageCount());
        assertEquals(7, blocks.freePages());
        blocks.release(b);
        assertEquals(10, blocks.freePages());
        // a full pool can be handed out again
        blocks.ensureCapacity(a, 30);
        assertEquals(0, blocks.freePages());
    }

    @Test
    void poolRejectsDoubleAndForeignFrees() {
        final PagePool pool = new PagePool(2);
        final int page = pool.allocate();
        pool.free(page);
        assertThrows(IllegalArgumentException.class, () -> pool.free(page));
        assertThrows(IllegalArgumentException.class, () -> pool.free(7));
        assertEquals(2, pool.freeCount());
        pool.allocate();
        pool.allocate();
        assertTrue(assertThrows(OutOfPagesException.class, pool::allocate).getMessage().contains("0 free of 2"));
    }
}
