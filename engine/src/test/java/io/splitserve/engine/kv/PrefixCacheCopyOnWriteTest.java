package io.splitserve.engine.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Copy on write in the prefix cache, one call at a time: a released table leaving its partial last page cached, a
 * prompt finding the leading rows of a cached partial page or of a full page it parts from, the cap that keeps the
 * prompt's last token computed, the copy source held until the copy ran, partial pages evicted like any idle page
 * and only after the free list, and the bound on the children scanned. Page size 4 throughout.
 */
class PrefixCacheCopyOnWriteTest {
    private static final int PAGE = 4;

    /** A table holding {@code tokens} with its full pages offered to the cache, as a sequence after its prefill. */
    private static BlockTable computed(BlockManager blocks, int[] tokens) {
        final BlockTable table = new BlockTable();
        blocks.ensureCapacity(table, tokens.length);
        blocks.register(table, tokens, tokens.length);
        return table;
    }

    private static void assertAccounting(BlockManager blocks) {
        assertEquals(blocks.pageCount(), blocks.emptyPages() + blocks.idleCachedPages() + blocks.pagesInUse());
        assertEquals(blocks.emptyPages() + blocks.idleCachedPages(), blocks.freePages());
    }

    @Test
    void aReleasedTablesPartialLastPageIsCopiedIntoAPageOfTheNextPromptsOwn() {
        final BlockManager blocks = new BlockManager(8, PAGE);
        final int[] a = {1, 2, 3, 4, 5, 6};
        final BlockTable at = computed(blocks, a);
        final int partial = at.page(1);
        blocks.release(at, a, a.length);
        assertEquals(2, blocks.prefixCacheStats().cachedPages(), "the full page and the partial one");
        assertEquals(2, blocks.idleCachedPages());
        assertTrue(blocks.isCached(partial));
        assertAccounting(blocks);

        final int[] b = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        final PrefixMatch match = new PrefixMatch();
        blocks.lookup(b, b.length, 2, match);
        assertEquals(1, match.pageCount(), "a partial page is never shared");
        assertEquals(-1, match.copySource(), "a plain lookup copies nothing");
        blocks.lookupWithCopy(b, b.length, b.length - 1, match);
        assertEquals(1, match.pageCount());
        assertEquals(partial, match.copySource());
        assertEquals(2, match.copyRows());
        assertEquals(2, match.idlePages(), "the shared page and the copy source are idle");
        assertEquals(6, match.tokens(PAGE));

        final BlockTable bt = new BlockTable();
        blocks.share(match, bt, b.length);
        assertEquals(2, bt.pageCount(), "the shared page and a page of b's own for the copy");
        assertEquals(at.pageCount(), 0);
        assertNotEquals(partial, bt.page(1));
        assertFalse(blocks.isCached(bt.page(1)));
        assertEquals(1, blocks.referenceCount(partial), "the source is held until the copy ran");
        assertEquals(3, blocks.pagesInUse());
        assertEquals(new PrefixCacheStats(9, 6, 2, 0), blocks.prefixCacheStats());
        blocks.releaseCopySource(partial);
        assertEquals(0, blocks.referenceCount(partial));
        assertTrue(blocks.isCached(partial), "idle again, for the next prompt");
        assertAccounting(blocks);
    }

    @Test
    void aFullPageThatPartsFromThePromptIsCopiedUpToWhereTheyPartAndTheCapHolds() {
        final BlockManager blocks = new BlockManager(8, PAGE);
        final BlockTable a = computed(blocks, new int[] {1, 2, 3, 4, 5, 6, 7, 8});
        final PrefixMatch match = new PrefixMatch();
        final int[] parts = {1, 2, 3, 4, 5, 6, 9, 9, 9};
        blocks.lookupWithCopy(parts, parts.length, parts.length - 1, match);
        assertEquals(1, match.pageCount());
        assertEquals(a.page(1), match.copySource());
        assertEquals(2, match.copyRows());
        assertEquals(0, match.idlePages(), "a holds both pages");

        final int[] same = {1, 2, 3, 4, 5, 6, 7, 8};
        blocks.lookupWithCopy(same, same.length, same.length - 1, match);
        assertEquals(1, match.pageCount(), "the second page would cover the last token");
        assertEquals(3, match.copyRows(), "all but the last token");
        final int[] shorter = {1, 2, 3, 4, 5, 6};
        blocks.lookupWithCopy(shorter, shorter.length, shorter.length - 1, match);
        assertEquals(1, match.copyRows());
        final int[] differsAtOnce = {1, 2, 3, 4, 9, 6, 7};
        blocks.lookupWithCopy(differsAtOnce, differsAtOnce.length, differsAtOnce.length - 1, match);
        assertEquals(1, match.pageCount());
        assertEquals(-1, match.copySource(), "no row in common: nothing to copy");
        assertEquals(0, match.copyRows());
    }

    @Test
    void aHeldCopySourceIsNotEvictedAndPartialPagesAreEvictedOnlyAfterTheFreeList() {
        final BlockManager blocks = new BlockManager(3, PAGE);
        final int[] a = {1, 2, 3, 4, 5};
        final BlockTable at = computed(blocks, a);
        final int full = at.page(0);
        final int partial = at.page(1);
        blocks.release(at, a, a.length);
        assertEquals(1, blocks.emptyPages());

        final int[] b = {1, 2, 3, 4, 5, 9};
        final PrefixMatch match = new PrefixMatch();
        blocks.lookupWithCopy(b, b.length, b.length - 1, match);
        final BlockTable bt = new BlockTable();
        blocks.share(match, bt, b.length);
        assertEquals(0, blocks.freePages(), "shared page, held source and b's copy page");
        assertThrows(OutOfPagesException.class, () -> blocks.ensureCapacity(new BlockTable(), 1));
        blocks.releaseCopySource(partial);
        blocks.release(bt);

        // the free list is empty now (b's page went back to it, then is taken first); the next page evicts the partial
        // page, released before the full one
        final BlockTable other = new BlockTable();
        blocks.ensureCapacity(other, PAGE);
        assertEquals(0, blocks.prefixCacheStats().evictions());
        blocks.ensureCapacity(other, 2 * PAGE);
        assertEquals(1, blocks.prefixCacheStats().evictions());
        assertFalse(blocks.isCached(partial));
        assertTrue(blocks.isCached(full));
        blocks.lookupWithCopy(b, b.length, b.length - 1, match);
        assertEquals(1, match.pageCount());
        assertEquals(-1, match.copySource(), "an evicted partial page is found no more");
        assertAccounting(blocks);
    }

    @Test
    void aPartialPageIsCachedOnlyWithItsTokenIdsAnUnbrokenChainAndNewRows() {
        final BlockManager blocks = new BlockManager(8, PAGE);
        final int[] a = {1, 2, 3, 4, 5, 6};
        blocks.release(computed(blocks, a));
        assertEquals(1, blocks.prefixCacheStats().cachedPages(), "released without its ids: the partial page is free");

        blocks.release(computed(blocks, a), a, a.length);
        assertEquals(2, blocks.prefixCacheStats().cachedPages());
        final int[] fewer = {1, 2, 3, 4, 5};
        blocks.release(computed(blocks, fewer), fewer, fewer.length);
        assertEquals(2, blocks.prefixCacheStats().cachedPages(), "a cached sibling holds those rows already");
        final int[] more = {1, 2, 3, 4, 5, 6, 7};
        blocks.release(computed(blocks, more), more, more.length);
        assertEquals(3, blocks.prefixCacheStats().cachedPages(), "one more row is worth a page");

        // nothing offered to the cache (a chain broken, or never registered): the partial page cannot be reached
        final BlockTable unoffered = new BlockTable();
        blocks.ensureCapacity(unoffered, 6);
        blocks.release(unoffered, new int[] {7, 7, 7, 7, 7, 7}, 6);
        assertEquals(3, blocks.prefixCacheStats().cachedPages());
        assertAccounting(blocks);
    }

    @Test
    void onlyTheMostRecentChildrenAreScannedAndACopyMovesItsSourceToTheFront() {
        final int children = PrefixCache.MAX_SCANNED_CHILDREN + 1;
        final BlockManager blocks = new BlockManager(children + 2, PAGE);
        for (int t = 1; t <= children; t++) {
            final int[] first = {t, 0};
            blocks.release(computed(blocks, first), first, first.length); // partial first pages: the root's children
        }
        final PrefixMatch match = new PrefixMatch();
        final int[] oldest = {1, 0, 5};
        blocks.lookupWithCopy(oldest, oldest.length, oldest.length - 1, match);
        assertEquals(-1, match.copySource(), "the oldest child is past the bound");
        final int[] second = {2, 0, 5};
        blocks.lookupWithCopy(second, second.length, second.length - 1, match);
        assertEquals(2, match.copyRows(), "the second oldest is the last one scanned");
        final BlockTable copy = new BlockTable();
        blocks.share(match, copy, second.length);
        blocks.releaseCopySource(match.copySource());
        blocks.release(copy);

        // a later child pushes the oldest unscanned one further out, but the copied one stays in reach
        final int[] newest = {children + 1, 0};
        blocks.release(computed(blocks, newest), newest, newest.length);
        blocks.lookupWithCopy(second, second.length, second.length - 1, match);
        assertEquals(2, match.copyRows());
        assertAccounting(blocks);
    }
}
