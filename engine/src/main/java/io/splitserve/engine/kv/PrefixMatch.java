package io.splitserve.engine.kv;

import java.util.Arrays;

/**
 * The leading cached pages {@link BlockManager#lookup} found for a prompt, kept until {@link BlockManager#share}
 * takes them or the next lookup replaces them: the pages in order, their chain keys, and how many are idle (taking
 * those lowers the free pages). Reused from lookup to lookup; its arrays grow and never shrink.
 */
public final class PrefixMatch {
    int[] pages = new int[16];
    long[] keys = new long[16];
    long[] registrations = new long[16];
    int pageCount;
    int idlePages;

    /** Leading full pages found cached. */
    public int pageCount() {
        return pageCount;
    }

    /** Matched pages no sequence references now: they count as free until they are shared. */
    public int idlePages() {
        return idlePages;
    }

    /** An empty match: the prompt shares nothing. */
    public void clear() {
        pageCount = 0;
        idlePages = 0;
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
