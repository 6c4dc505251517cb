package io.splitserve.engine.kv;

/**
 * Hands out KV pages to sequences: grows a sequence's {@link BlockTable} to cover a token count, maps token
 * positions to slots ({@code page * pageSize + offset}) and returns every page on release. Allocation is all or
 * nothing: when the pool cannot cover a request, no page is taken. It knows nothing about models; any page size
 * from 1 (token-level allocation) up is allowed.
 */
public final class BlockManager {
    private final PagePool pool;
    private final int pageSize;

    public BlockManager(int pageCount, int pageSize) {
        if (pageSize <= 0) {
            throw new IllegalArgumentException("page size must be positive, got " + pageSize);
        }
        this.pool = new PagePool(pageCount);
        this.pageSize = pageSize;
    }

    public int pageSize() {
        return pageSize;
    }

    public int pageCount() {
        return pool.pageCount();
    }

    public int freePages() {
        return pool.freeCount();
    }

    /** Pages needed to hold {@code tokens} tokens. */
    public int pagesFor(int tokens) {
        return (tokens + pageSize - 1) / pageSize;
    }

    /** Pages {@code table} still lacks to hold {@code tokens} tokens. */
    public int missingPages(BlockTable table, int tokens) {
        return Math.max(0, pagesFor(tokens) - table.pageCount());
    }

    /** Grows {@code table} to hold {@code tokens} tokens, or throws {@link OutOfPagesException} taking nothing. */
    public void ensureCapacity(BlockTable table, int tokens) {
        final int missing = missingPages(table, tokens);
        if (missing > pool.freeCount()) {
            throw new OutOfPagesException(missing, pool.freeCount(), pool.pageCount());
        }
        for (int i = 0; i < missing; i++) {
            table.append(pool.allocate());
        }
    }

    /** The slot of token {@code position}; the table must already cover it. */
    public int slot(BlockTable table, int position) {
        return table.page(position / pageSize) * pageSize + position % pageSize;
    }

    /** Returns every page of {@code table} to the pool; the table is empty afterwards. */
    public void release(BlockTable table) {
        while (table.pageCount() > 0) {
            pool.free(table.removeLast());
        }
    }
}
