package io.splitserve.engine.kv;

/**
 * The free list of a fixed set of KV pages numbered {@code 0 .. pageCount-1}. Pages are handed out last-freed
 * first (a stack), so a freshly released page is reused while still warm. Double frees and foreign page numbers
 * are rejected, so the free count is always exact.
 */
public final class PagePool {
    private final int pageCount;
    private final int[] freeStack;
    private final boolean[] inUse;
    private int freeCount;

    public PagePool(int pageCount) {
        if (pageCount <= 0) {
            throw new IllegalArgumentException("page count must be positive, got " + pageCount);
        }
        this.pageCount = pageCount;
        this.freeStack = new int[pageCount];
        this.inUse = new boolean[pageCount];
        // page 0 on top, so allocation order is 0, 1, 2, ... on a fresh pool
        for (int i = 0; i < pageCount; i++) {
            freeStack[i] = pageCount - 1 - i;
        }
        this.freeCount = pageCount;
    }

    public int pageCount() {
        return pageCount;
    }

    public int freeCount() {
        return freeCount;
    }

    /** Takes one page; throws {@link OutOfPagesException} when none is free. */
    public int allocate() {
        if (freeCount == 0) {
            throw new OutOfPagesException(1, 0, pageCount);
        }
        final int page = freeStack[--freeCount];
        inUse[page] = true;
        return page;
    }

    /** Whether {@code page} is on the free list. */
    public boolean isFree(int page) {
        return !inUse[page];
    }

    public void free(int page) {
        if (page < 0 || page >= pageCount || !inUse[page]) {
            throw new IllegalArgumentException("page " + page + " is not allocated from this pool");
        }
        inUse[page] = false;
        freeStack[freeCount++] = page;
    }
}
