package io.splitserve.engine.kv;

import java.util.Arrays;

/**
 * The leading cached pages {@link BlockManager#lookup} found for a prompt, kept until {@link BlockManager#share}
 * takes them or the next lookup replaces them: the pages in order, their chain keys, and how many are idle (taking
 * those lowers the free pages). After {@link BlockManager#lookupWithCopy} it may also name a cached page whose leading
 * rows continue the prompt past those pages ({@link #copySource()}, {@link #copyRows()}): the prompt's next page is to
 * be a copy of those rows. Reused from lookup to lookup; its arrays grow and never shrink.
 */
public final class PrefixMatch {
    int[] pages = new int[16];
    long[] keys = new long[16];
    long[] registrations = new long[16];
    int pageCount;
    int idlePages;
    int copySource = -1;
    int copyRows;

    /** Leading full pages found cached. */
    public int pageCount() {
        return pageCount;
    }

    /**
     * Matched pages no sequence references now, the copy source included: they count as free until they are shared
     * (or copied from).
     */
    public int idlePages() {
        return idlePages;
    }

    /** The cached page whose leading {@link #copyRows()} rows continue the prompt after the shared pages, or -1. */
    public int copySource() {
        return copySource;
    }

    /** Rows of {@link #copySource()} to copy into the prompt's next page; 0 when nothing is copied. */
    public int copyRows() {
        return copyRows;
    }

    /** Prompt tokens whose K/V the match provides: the shared pages' and the copied rows. */
    public int tokens(int pageSize) {
        return pageCount * pageSize + copyRows;
    }

    /** An empty match: the prompt shares nothing. */
    public void clear() {
        pageCount = 0;
        idlePages = 0;
        copySource = -1;
        copyRows = 0;
    }

    void copy(int source, int rows, boolean idle) {
        copySource = source;
        copyRows = rows;
        if (idle) {
            idlePages++;
        }
    }

    void add(int page, long key, long registration, boolean idle) {
        if (pageCount == pages.length) {
            pages = Arrays.copyOf(pages, pageCount * 2);
            keys = Arrays.copyOf(keys, pageCount * 2);
            registrations = Arrays.copyOf(registrations, pageCount * 2);
        }
        pages[pageCount] = page;
        keys[pageCount] = key;
        registrations[pageCount] = registration;
        pageCount++;
        if (idle) {
            idlePages++;
        }
    }
}
