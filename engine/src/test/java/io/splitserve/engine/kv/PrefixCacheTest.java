package io.splitserve.engine.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Reference-counted pages and the prefix cache, one call at a time: sharing full pages of a common prefix, idle
 * cached pages counting as free and evicted least recently released first, a referenced page never evicted, and a
 * hash collision never matching different content. Page size 2 throughout.
 */
class PrefixCacheTest {
    private static final int PAGE = 2;

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
    void aPromptSharesTheFullPagesOfACachedPrefixAndOnlyThose() {
        final BlockManager blocks = new BlockManager(8, PAGE);
        final BlockTable a = computed(blocks, new int[] {1, 2, 3, 4, 5});
        assertEquals(2, blocks.prefixCacheStats().cachedPages(), "two full pages; the partial third is a's own");

        final PrefixMatch match = new PrefixMatch();
        final int[] b = {1, 2, 3, 4, 5, 6, 7};
        blocks.lookup(b, b.length, 3, match);
        assertEquals(2, match.pageCount(), "a's third page was never full, so it is not cached");
        assertEquals(0, match.idlePages(), "a still holds both");
        final BlockTable bt = new BlockTable();
        blocks.share(match, bt, b.length);
        assertEquals(a.page(0), bt.page(0));
        assertEquals(a.page(1), bt.page(1));
        assertEquals(2, blocks.referenceCount(a.page(0)));
        blocks.ensureCapacity(bt, b.length);
        assertTrue(bt.page(2) != a.page(2), "the partial page is b's own");
        assertAccounting(blocks);

        final int[] differsInSecondPage = {1, 2, 3, 9, 5};
        blocks.lookup(differsInSecondPage, differsInSecondPage.length, 2, match);
        assertEquals(1, match.pageCount());
        blocks.lookup(b, b.length, 1, match);
        assertEquals(1, match.pageCount(), "the cap holds");
        assertEquals(new PrefixCacheStats(7, 4, 2, 0), blocks.prefixCacheStats());
    }

    @Test
    void releasedCachedPagesStayIdleCountAsFreeAndAreEvictedOldestFirstAfterTheFreeList() {
        final BlockManager blocks = new BlockManager(4, PAGE);
        final BlockTable a = computed(blocks, new int[] {1, 2});
        final BlockTable b = computed(blocks, new int[] {3, 4});
        final int pageA = a.page(0);
        final int pageB = b.page(0);
        blocks.release(a);
        blocks.release(b);
        assertEquals(2, blocks.emptyPages());
        assertEquals(2, blocks.idleCachedPages());
        assertEquals(4, blocks.freePages());
        assertEquals(0, blocks.pagesInUse());
        assertTrue(blocks.isCached(pageA) && !blocks.isEmpty(pageA));

        // two pages come off the free list, and the cache is untouched
        final BlockTable c = new BlockTable();
        blocks.ensureCapacity(c, 4);
        assertEquals(2, blocks.prefixCacheStats().cachedPages());
        assertEquals(0, blocks.prefixCacheStats().evictions());
        // a third evicts a's page, released first; b's stays cached
        blocks.ensureCapacity(c, 6);
        assertEquals(pageA, c.page(2));
        assertFalse(blocks.isCached(pageA));
        assertTrue(blocks.isCached(pageB));
        assertEquals(1, blocks.prefixCacheStats().evictions());
        final PrefixMatch match = new PrefixMatch();
        blocks.lookup(new int[] {1, 2, 0}, 3, 1, match);
        assertEquals(0, match.pageCount(), "an evicted page is found no more");
        assertAccounting(blocks);
    }

    @Test
    void aReferencedCachedPageIsNeverEvicted() {
        final BlockManager blocks = new BlockManager(3, PAGE);
        final BlockTable a = computed(blocks, new int[] {1, 2});
        final BlockTable other = new BlockTable();
        blocks.ensureCapacity(other, 4);
        assertEquals(0, blocks.freePages());
        final OutOfPagesException e = assertThrows(OutOfPagesException.class, () -> blocks.ensureCapacity(other, 6));
        assertEquals("KV cache out of pages: need 1, 0 free of 3", e.getMessage());
        assertTrue(blocks.isCached(a.page(0)));
        assertEquals(1, blocks.referenceCount(a.page(0)));

        // shared, then released by one holder: still referenced by the other, so still not evictable
        final PrefixMatch match = new PrefixMatch();
        blocks.lookup(new int[] {1, 2, 3}, 3, 1, match);
        final BlockTable b = new BlockTable();
        blocks.share(match, b, 3);
        blocks.release(a);
        assertEquals(0, blocks.freePages());
        assertThrows(OutOfPagesException.class, () -> blocks.ensureCapacity(other, 6));
        blocks.release(b);
        blocks.ensureCapacity(other, 6);
        assertEquals(3, other.pageCount());
        assertAccounting(blocks);
    }

    @Test
    void sharingAnIdlePageTakesItBackFromTheIdleList() {
        final BlockManager blocks = new BlockManager(2, PAGE);
        final BlockTable a = computed(blocks, new int[] {1, 2});
        final int page = a.page(0);
        blocks.release(a);
        final PrefixMatch match = new PrefixMatch();
        blocks.lookup(new int[] {1, 2, 3}, 3, 1, match);
        assertEquals(1, match.idlePages());
        final BlockTable b = new BlockTable();
        blocks.share(match, b, 3);
        assertEquals(0, blocks.idleCachedPages());
        assertEquals(1, blocks.pagesInUse());
        blocks.ensureCapacity(b, 3);
        assertEquals(0, blocks.freePages());
        assertEquals(page, b.page(0));
        assertAccounting(blocks);
    }

    @Test
    void aHashCollisionNeverMatchesDifferentContent() {
        // every page of every prefix gets the same key: only the stored token ids and parents tell them apart
        final BlockManager blocks = new BlockManager(8, PAGE, (parentKey, tokens, from, count) -> 42L);
        computed(blocks, new int[] {1, 2, 3, 4});
        assertEquals(1, blocks.prefixCacheStats().cachedPages(), "the second page's key is taken: the chain ends");
        final PrefixMatch match = new PrefixMatch();
        blocks.lookup(new int[] {5, 6, 7}, 3, 1, match);
        assertEquals(0, match.pageCount(), "same key, other tokens");
        blocks.lookup(new int[] {1, 2, 7}, 3, 1, match);
        assertEquals(1, match.pageCount());
    }

    @Test
    void aPageWhoseParentWasEvictedAndReusedIsNotMatched() {
        // keys ignore the parent, so a second page collides across prefixes unless the parent check stops it
        final BlockManager blocks = new BlockManager(3, PAGE, (parentKey, tokens, from, count) ->
                tokens[from] * 31L + tokens[from + 1]);
        final BlockTable x = computed(blocks, new int[] {1, 2});
        final BlockTable y = computed(blocks, new int[] {1, 2, 3, 4}); // computes {1, 2} again on a page of its own
        final int twin = x.page(0);
        assertEquals(2, blocks.prefixCacheStats().cachedPages(), "y's {1, 2} is x's twin; y's {3, 4} follows x's");
        final PrefixMatch match = new PrefixMatch();
        blocks.lookup(new int[] {1, 2, 3, 4, 5}, 5, 2, match);
        assertEquals(2, match.pageCount(), "the chain runs through the cached twin");
        blocks.release(x);
        blocks.release(y); // y's own {1, 2} page goes back to the free list; x's is the oldest idle page
        assertEquals(1, blocks.emptyPages());

        // the free page, then x's page evicted and registered again as {9, 9}: y's {3, 4} followed {1, 2}, not this
        final BlockTable filler = new BlockTable();
        blocks.ensureCapacity(filler, 2);
        final BlockTable c = computed(blocks, new int[] {9, 9});
        assertEquals(twin, c.page(0), "x's page, evicted and reused");
        final int[] b = {9, 9, 3, 4, 0};
        blocks.lookup(b, b.length, 2, match);
        assertEquals(1, match.pageCount());
    }

    @Test
    void releasingAPageNoTableHoldsIsRefused() {
        final BlockManager blocks = new BlockManager(2, PAGE);
        final BlockTable a = computed(blocks, new int[] {1, 2});
        final PrefixMatch match = new PrefixMatch();
        blocks.lookup(new int[] {1, 2, 3}, 3, 1, match);
        final BlockTable b = new BlockTable();
        blocks.share(match, b, 3);
        assertThrows(IllegalStateException.class, () -> blocks.share(match, b, 3), "b holds pages already");
        blocks.release(a);
        blocks.release(b);
        assertThrows(IllegalArgumentException.class, () -> blocks.referenceCount(7));
    }
}
