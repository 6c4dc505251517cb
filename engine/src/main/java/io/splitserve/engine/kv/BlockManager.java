package io.splitserve.engine.kv;

/**
 * Hands out KV pages to sequences: grows a sequence's {@link BlockTable} to cover a token count, maps token
 * positions to slots ({@code page * pageSize + offset}) and drops a table's pages on release. It knows nothing about
 * models; any page size from 1 (token-level allocation) up is allowed.
 *
 * <p>Every page has a reference count: the number of tables that hold it. Full pages whose token ids are known can
 * be offered to a {@link PrefixCache} ({@link #register}); a later prompt with the same prefix finds them
 * ({@link #lookup}) and shares them ({@link #share}), each sharer adding one reference. Only full pages are shared,
 * and a full page is never written again, so a shared page needs no copy. A cached page whose count drops to 0 is
 * not freed but stays cached and idle; taking a page takes one from the free list first, and only then evicts the
 * least recently released idle cached page (dropping it from the cache). A referenced page is never evicted.
 *
 * <p>Copy on write of a partial page: a table released with its token ids ({@link #release(BlockTable, int[], int)})
 * leaves its last, partial page cached (when its chain of full pages was offered unbroken up to it), idle like any
 * other. {@link #lookupWithCopy} then also finds the cached page (partial, or full but parting from the prompt later)
 * that continues the matched pages the furthest; {@link #share} gives the table a fresh page of its own for those
 * rows and holds one reference on the source until {@link #releaseCopySource}, so the source is neither evicted nor
 * reused before the caller has copied the rows (K and V of every layer: that is the runner's business, not this
 * class's). A partial page is only ever copied from, never shared.
 *
 * <p>Accounting is exact at every moment: {@link #emptyPages()} + {@link #idleCachedPages()} +
 * {@link #pagesInUse()} = {@link #pageCount()}. {@link #freePages()}, which admission decisions use, counts idle
 * cached pages as free since taking a page may evict them. Allocation is all or nothing: when the pool cannot cover a
 * request, no page is taken. Not thread-safe.
 */
public final class BlockManager {
    private final PagePool pool;
    private final PrefixCache cache;
    private final int pageSize;
    private final int[] referenceCounts;
    private int pagesInUse;
    private long lookedUpTokens;
    private long hitTokens;
    private long evictions;

    public BlockManager(int pageCount, int pageSize) {
        this(pageCount, pageSize, PrefixCache.CHAIN_HASH);
    }

    /** With the page keys of {@code keyFunction}: tests force hash collisions with it. */
    BlockManager(int pageCount, int pageSize, PrefixCache.KeyFunction keyFunction) {
        if (pageSize <= 0) {
            throw new IllegalArgumentException("page size must be positive, got " + pageSize);
        }
        this.pool = new PagePool(pageCount);
        this.cache = new PrefixCache(pageCount, pageSize, keyFunction);
        this.pageSize = pageSize;
        this.referenceCounts = new int[pageCount];
    }

    public int pageSize() {
        return pageSize;
    }

    public int pageCount() {
        return pool.pageCount();
    }

    /** Pages a request can take now: those on the free list plus the idle cached ones it may evict. */
    public int freePages() {
        return pool.freeCount() + cache.idleCount();
    }

    /** Pages on the free list: neither referenced nor cached. */
    public int emptyPages() {
        return pool.freeCount();
    }

    /** Cached pages no table references: kept for later hits, evicted when the free list runs dry. */
    public int idleCachedPages() {
        return cache.idleCount();
    }

    /** Pages held by at least one table. */
    public int pagesInUse() {
        return pagesInUse;
    }

    /** Tables holding {@code page} now. */
    public int referenceCount(int page) {
        return referenceCounts[checkedPage(page)];
    }

    /** Whether {@code page} is on the free list. */
    public boolean isEmpty(int page) {
        return pool.isFree(checkedPage(page));
    }

    /** Whether {@code page} is registered in the prefix cache (referenced or idle). */
    public boolean isCached(int page) {
        return cache.isRegistered(checkedPage(page));
    }

    /** Prompt tokens looked up, tokens found cached, pages cached now and evictions, all since construction. */
    public PrefixCacheStats prefixCacheStats() {
        return new PrefixCacheStats(lookedUpTokens, hitTokens, cache.registeredCount(), evictions);
    }

    /** Pages needed to hold {@code tokens} tokens. */
    public int pagesFor(int tokens) {
        return (tokens + pageSize - 1) / pageSize;
    }

    /** Pages {@code table} still lacks to hold {@code tokens} tokens. */
    public int missingPages(BlockTable table, int tokens) {
        return Math.max(0, pagesFor(tokens) - table.pageCount());
    }

    /**
     * Grows {@code table} to hold {@code tokens} tokens with pages of its own (free ones first, then evicted idle
     * cached ones), or throws {@link OutOfPagesException} taking nothing.
     */
    public void ensureCapacity(BlockTable table, int tokens) {
        final int missing = missingPages(table, tokens);
        if (missing > freePages()) {
            throw new OutOfPagesException(missing, freePages(), pool.pageCount());
        }
        for (int i = 0; i < missing; i++) {
            table.append(take());
        }
    }

    private int take() {
        int page;
        if (pool.freeCount() > 0) {
            page = pool.allocate();
        } else {
            page = cache.oldestIdle();
            if (page < 0) {
                throw new OutOfPagesException(1, 0, pool.pageCount());
            }
            cache.removeIdle(page);
            cache.unregister(page); // an idle cached page never left the pool's hands: it is simply reused
            evictions++;
        }
        referenceCounts[page] = 1;
        pagesInUse++;
        return page;
    }

    /** The slot of token {@code position}; the table must already cover it. */
    public int slot(BlockTable table, int position) {
        return table.page(position / pageSize) * pageSize + position % pageSize;
    }

    /**
     * Finds the longest run of cached full pages that begins {@code tokens[0, length)}, at most {@code maxPages}
     * long, into {@code match}; takes nothing (see {@link #share}).
     */
    public void lookup(int[] tokens, int length, int maxPages, PrefixMatch match) {
        match.clear();
        final int pages = Math.min(maxPages, length / pageSize);
        long key = PrefixCache.ROOT_KEY;
        int parent = -1;
        long parentRegistration = 0;
        for (int i = 0; i < pages; i++) {
            key = cache.key(key, tokens, i * pageSize);
            final int page = cache.find(key);
            if (page < 0 || !cache.matches(page, tokens, i * pageSize, parent, parentRegistration)) {
                break;
            }
            parent = page;
            parentRegistration = cache.registration(page);
            match.add(page, key, parentRegistration, referenceCounts[page] == 0);
        }
    }

    /**
     * As {@link #lookup} with at most {@code maxTokens / pageSize} pages, and then the cached page that follows the
     * last matched page (or begins a sequence, when none matched) and whose leading rows equal the prompt's next tokens
     * the furthest, at least one row, never past {@code maxTokens} tokens in all nor a whole page: the copy source of
     * {@code match}. The children of a page are scanned up to a small bound ({@code PrefixCache}); takes nothing.
     */
    public void lookupWithCopy(int[] tokens, int length, int maxTokens, PrefixMatch match) {
        final int limit = Math.min(length, maxTokens);
        lookup(tokens, length, limit / pageSize, match);
        final int from = match.pageCount * pageSize;
        final int maxRows = Math.min(pageSize - 1, limit - from);
        final int parent = match.pageCount == 0 ? -1 : match.pages[match.pageCount - 1];
        final long parentRegistration = match.pageCount == 0 ? 0 : match.registrations[match.pageCount - 1];
        final int source = cache.longestChild(parent, parentRegistration, tokens, from, maxRows);
        if (source >= 0) {
            match.copy(source, cache.commonRows(source, tokens, from, maxRows), referenceCounts[source] == 0);
        }
    }

    /**
     * Puts the pages of the last {@link #lookup} into empty {@code table}, one more reference each, and counts a
     * lookup of {@code promptTokens} prompt tokens. When the match names a copy source ({@link #lookupWithCopy}), the
     * table also gets a fresh page of its own, into which the caller copies the source's leading
     * {@link PrefixMatch#copyRows()} rows, and the source one reference until {@link #releaseCopySource}; the copied
     * rows count as hit tokens. Nothing may change the cache between the lookup and this call.
     *
     * @throws OutOfPagesException when a copy needs a page and none is free (nothing is taken).
     */
    public void share(PrefixMatch match, BlockTable table, int promptTokens) {
        if (table.pageCount() != 0) {
            throw new IllegalStateException("cached pages start a table; this one holds " + table.pageCount());
        }
        if (match.copyRows > 0 && freePages() - match.idlePages < 1) {
            throw new OutOfPagesException(1, freePages() - match.idlePages, pool.pageCount());
        }
        table.resetChain();
        for (int i = 0; i < match.pageCount; i++) {
            final int page = match.pages[i];
            hold(page);
            table.append(page);
            table.continueChain(match.keys[i], page, match.registrations[i]);
        }
        if (match.copyRows > 0) {
            hold(match.copySource);
            cache.promote(match.copySource);
            table.append(take());
        }
        lookedUpTokens += promptTokens;
        hitTokens += match.tokens(pageSize);
    }

    /** The rows {@link #share} had copied from {@code page} landed: drops the reference it took on the source. */
    public void releaseCopySource(int page) {
        drop(checkedPage(page));
    }

    private void hold(int page) {
        if (referenceCounts[page] == 0) {
            cache.removeIdle(page);
            pagesInUse++;
        }
        referenceCounts[page]++;
    }

    /**
     * Offers {@code table}'s full pages among the first {@code computed} tokens of {@code tokens} (their K/V written)
     * to the prefix cache, from where the last call stopped. A page whose content is cached already under another page
     * stays the table's own; the chain continues from the cached twin, whose K/V is the same. A page whose key is held
     * by different content (a hash collision) ends the table's offers: its later pages could never be matched.
     */
    public void register(BlockTable table, int[] tokens, int computed) {
        final int full = Math.min(computed / pageSize, table.pageCount());
        while (!table.chainBroken && table.offeredPages < full) {
            final int from = table.offeredPages * pageSize;
            final int page = table.page(table.offeredPages);
            final long key = cache.key(table.chainKey, tokens, from);
            final int cached = cache.find(key);
            if (cached < 0) {
                cache.register(page, key, tokens, from, table.chainPage, table.chainRegistration);
                table.continueChain(key, page, cache.registration(page));
            } else if (cached >= 0 && cache.matches(cached, tokens, from, table.chainPage, table.chainRegistration)) {
                table.continueChain(key, cached, cache.registration(cached));
            } else {
                table.chainBroken = true;
            }
        }
    }

    /**
     * As {@link #release(BlockTable)} for a table holding K/V of {@code tokens[0, computed)}: when its last page is
     * partial ({@code computed % pageSize} rows) and its full pages were offered to the cache unbroken up to it
     * ({@link #register}), that page stays cached, idle, to be copied from by a later prompt
     * ({@link #lookupWithCopy}); unless a cached sibling already holds at least those rows.
     */
    public void release(BlockTable table, int[] tokens, int computed) {
        final int last = computed / pageSize;
        final int rows = computed % pageSize;
        if (rows > 0 && !table.chainBroken && table.offeredPages == last && last < table.pageCount()) {
            final int page = table.page(last);
            final int from = last * pageSize;
            final int sibling = cache.longestChild(table.chainPage, table.chainRegistration, tokens, from, rows);
            final boolean covered = sibling >= 0 && cache.commonRows(sibling, tokens, from, rows) == rows;
            if (!covered && referenceCounts[page] == 1 && !cache.isRegistered(page)
                    && (table.chainPage < 0 || cache.registration(table.chainPage) == table.chainRegistration)) {
                cache.registerPartial(page, tokens, from, rows, table.chainPage, table.chainRegistration);
            }
        }
        release(table);
    }

    /** Drops one reference to every page of {@code table}; the table is empty afterwards. */
    public void release(BlockTable table) {
        while (table.pageCount() > 0) {
            drop(table.removeLast());
        }
        table.resetChain();
    }

    private void drop(int page) {
        if (referenceCounts[page] <= 0) {
            throw new IllegalStateException("page " + page + " is released but no table holds it");
        }
        if (--referenceCounts[page] == 0) {
            pagesInUse--;
            if (cache.isRegistered(page)) {
                cache.makeIdle(page);
            } else {
                pool.free(page);
            }
        }
    }

    private int checkedPage(int page) {
        if (page < 0 || page >= pool.pageCount()) {
            throw new IllegalArgumentException("page " + page + " is outside a pool of " + pool.pageCount());
        }
        return page;
    }
}
