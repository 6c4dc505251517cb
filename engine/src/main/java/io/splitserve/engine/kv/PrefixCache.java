package io.splitserve.engine.kv;

import java.util.Arrays;

/**
 * The content index of cached KV pages, so that a prompt that repeats a prefix can share the pages that already hold
 * its K/V. A registered full page is keyed by a chain: the key of (its parent page's key, its own token ids), the
 * first page of a sequence having {@link #ROOT_KEY} as parent key, so a page matches only together with its whole
 * prefix.
 *
 * <p>Keys only find candidates. A candidate matches when its stored token ids equal the ones looked up and its
 * recorded parent is exactly the page matched one level up, in the same registration (every registration gets an id
 * never used again, so a parent that was evicted and reused since does not count). By induction from the first page,
 * a matched page holds K/V of exactly the looked-up prefix, whatever the hash: a collision can only cost a hit,
 * never share wrong KV. A registered page is never written again while it stays registered.
 *
 * <p>A registered page may also be partial: the last page of a released sequence, with {@code 0 < rows < pageSize}
 * valid rows. A partial page has no key (a full-page lookup never finds it); it is only ever copied from. To find the
 * page that continues a matched prefix the furthest (a partial page, or a full one that parts from the prompt after
 * some rows), every registered page is linked into its parent's list of children (the root's for a first page), most
 * recently registered or copied from first, and {@link #longestChild} scans at most {@link #MAX_SCANNED_CHILDREN} of
 * them, comparing at most a page of token ids each: bounded work and no allocation per lookup, at the price of
 * missing a continuation beyond the first children scanned. A page whose parent is unregistered (or was re-registered
 * since) is an orphan: in no list, never found, waiting in the idle order for its own eviction.
 *
 * <p>It also keeps the registered pages that no sequence references (idle) in least recently released order, which
 * {@link BlockManager} evicts from when the free list is empty. It knows nothing about models or reference counts:
 * {@link BlockManager} tells it when a page turns idle or is taken again. No allocation after construction.
 */
final class PrefixCache {
    /** The parent key of a sequence's first page. */
    static final long ROOT_KEY = 0x6A09E667F3BCC909L;
    /** Children of one parent that {@link #longestChild} compares at most. */
    static final int MAX_SCANNED_CHILDREN = 8;
    private static final int EMPTY = -1;
    private static final int ORPHAN = -2; // the parent page of a page linked into no child list

    /** The key of a page holding {@code tokens[from, from + count)} after the prefix keyed {@code parentKey}. */
    @FunctionalInterface
    interface KeyFunction {
        long key(long parentKey, int[] tokens, int from, int count);
    }

    /** A 64-bit multiplicative chain over the token ids, finished with MurmurHash3's mixer. */
    static final KeyFunction CHAIN_HASH = (parentKey, tokens, from, count) -> {
        long h = parentKey;
        for (int i = from; i < from + count; i++) {
            h = (h ^ (tokens[i] & 0xFFFFFFFFL)) * 0x9E3779B97F4A7C15L;
            h ^= h >>> 29;
        }
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        h *= 0xC4CEB9FE1A85EC53L;
        return h ^ (h >>> 33);
    };

    private final int pageSize;
    private final KeyFunction keyFunction;
    private final long[] keys;
    private final long[] registrations; // 0: not registered
    private final int[] parentPages; // EMPTY for a first page
    private final long[] parentRegistrations;
    private final int[] tokens; // [page][pageSize], the first validRows[page] of them valid
    private final int[] validRows; // pageSize for a full page
    private final int[] firstChild; // per parent page: its most recent child, or EMPTY
    private final int[] nextSibling; // older sibling, or EMPTY
    private final int[] previousSibling; // newer sibling, or EMPTY
    private int firstRootChild = EMPTY;
    private final int[] index; // open addressing with linear probing: a registered page, or EMPTY
    private final int indexMask;
    private final int[] newer; // idle list, oldest at idleHead
    private final int[] older;
    private int idleHead = EMPTY;
    private int idleTail = EMPTY;
    private int idleCount;
    private int registeredCount;
    private long nextRegistration = 1;

    PrefixCache(int pageCount, int pageSize, KeyFunction keyFunction) {
        this.pageSize = pageSize;
        this.keyFunction = keyFunction;
        this.keys = new long[pageCount];
        this.registrations = new long[pageCount];
        this.parentPages = new int[pageCount];
        this.parentRegistrations = new long[pageCount];
        this.tokens = new int[Math.multiplyExact(pageCount, pageSize)];
        this.validRows = new int[pageCount];
        this.firstChild = new int[pageCount];
        this.nextSibling = new int[pageCount];
        this.previousSibling = new int[pageCount];
        Arrays.fill(firstChild, EMPTY);
        this.index = new int[Integer.highestOneBit(Math.max(2, pageCount)) * 4];
        this.indexMask = index.length - 1;
        Arrays.fill(index, EMPTY);
        this.newer = new int[pageCount];
        this.older = new int[pageCount];
    }

    long key(long parentKey, int[] tokenIds, int from) {
        return keyFunction.key(parentKey, tokenIds, from, pageSize);
    }

    /** The page registered under {@code key}, or -1. */
    int find(long key) {
        for (int slot = slotOf(key); index[slot] != EMPTY; slot = (slot + 1) & indexMask) {
            if (keys[index[slot]] == key) {
                return index[slot];
            }
        }
        return EMPTY;
    }

    /**
     * Whether registered {@code page} holds {@code tokenIds[from, from + pageSize)} right after the parent
     * {@code parentPage} (-1 for none) in registration {@code parentRegistration} (0 for none).
     */
    boolean matches(int page, int[] tokenIds, int from, int parentPage, long parentRegistration) {
        if (parentPages[page] != parentPage || parentRegistrations[page] != parentRegistration
                || validRows[page] != pageSize) {
            return false;
        }
        return Arrays.equals(tokens, page * pageSize, (page + 1) * pageSize, tokenIds, from, from + pageSize);
    }

    boolean isRegistered(int page) {
        return registrations[page] != 0;
    }

    /** The id of the page's current registration; 0 when it is not registered. */
    long registration(int page) {
        return registrations[page];
    }

    /** Registers full, unregistered {@code page} under {@code key} (which no page holds) with its tokens and parent. */
    void register(int page, long key, int[] tokenIds, int from, int parentPage, long parentRegistration) {
        if (registrations[page] != 0 || find(key) != EMPTY) {
            throw new IllegalStateException("page " + page + " or its key is registered already");
        }
        keys[page] = key;
        store(page, tokenIds, from, pageSize, parentPage, parentRegistration);
        int slot = slotOf(key);
        while (index[slot] != EMPTY) {
            slot = (slot + 1) & indexMask;
        }
        index[slot] = page;
    }

    /**
     * Registers unregistered {@code page} as a partial page holding {@code tokenIds[from, from + rows)} after the
     * parent {@code parentPage} (-1 for none) in registration {@code parentRegistration}, which must be current.
     */
    void registerPartial(int page, int[] tokenIds, int from, int rows, int parentPage, long parentRegistration) {
        if (registrations[page] != 0) {
            throw new IllegalStateException("page " + page + " is registered already");
        }
        if (rows <= 0 || rows >= pageSize) {
            throw new IllegalArgumentException("a partial page holds 1 to " + (pageSize - 1) + " rows, got " + rows);
        }
        if (!isCurrent(parentPage, parentRegistration)) {
            throw new IllegalArgumentException("parent page " + parentPage + " is not in registration "
                    + parentRegistration);
        }
        store(page, tokenIds, from, rows, parentPage, parentRegistration);
    }

    private void store(int page, int[] tokenIds, int from, int rows, int parentPage, long parentRegistration) {
        registrations[page] = nextRegistration++;
        parentRegistrations[page] = parentRegistration;
        validRows[page] = rows;
        System.arraycopy(tokenIds, from, tokens, page * pageSize, rows);
        firstChild[page] = EMPTY;
        if (isCurrent(parentPage, parentRegistration)) {
            parentPages[page] = parentPage;
            linkFirst(page);
        } else {
            parentPages[page] = ORPHAN;
        }
        registeredCount++;
    }

    /** Whether {@code parentPage} (-1: the root) is registered now in registration {@code parentRegistration}. */
    private boolean isCurrent(int parentPage, long parentRegistration) {
        return parentPage == EMPTY ? parentRegistration == 0
                : parentRegistration != 0 && registrations[parentPage] == parentRegistration;
    }

    /** Drops a registered page from the index and its parent's children (its content is about to be overwritten). */
    void unregister(int page) {
        if (validRows[page] == pageSize) {
            removeFromIndex(page);
        }
        if (parentPages[page] != ORPHAN) {
            unlink(page);
        }
        for (int child = firstChild[page]; child != EMPTY; ) {
            final int next = nextSibling[child];
            parentPages[child] = ORPHAN; // it followed this registration, which no lookup can reach any more
            nextSibling[child] = EMPTY;
            previousSibling[child] = EMPTY;
            child = next;
        }
        firstChild[page] = EMPTY;
        registrations[page] = 0;
        registeredCount--;
    }

    private void removeFromIndex(int page) {
        int slot = slotOf(keys[page]);
        while (index[slot] != page) {
            slot = (slot + 1) & indexMask;
        }
        // backward-shift deletion keeps every probe chain unbroken
        int hole = slot;
        for (int next = (hole + 1) & indexMask; index[next] != EMPTY; next = (next + 1) & indexMask) {
            final int home = slotOf(keys[index[next]]);
            if (((next - home) & indexMask) >= ((next - hole) & indexMask)) {
                index[hole] = index[next];
                hole = next;
            }
        }
        index[hole] = EMPTY;
    }

    /**
     * Among the first {@link #MAX_SCANNED_CHILDREN} children of {@code parentPage} (-1: the root) in registration
     * {@code parentRegistration}, the page whose leading rows equal {@code tokenIds[from, from + maxRows)} the
     * furthest (at least one row), or -1. Full and partial children alike; see {@link #commonRows}.
     */
    int longestChild(int parentPage, long parentRegistration, int[] tokenIds, int from, int maxRows) {
        if (maxRows <= 0 || !isCurrent(parentPage, parentRegistration)) {
            return EMPTY;
        }
        int best = EMPTY;
        int bestRows = 0;
        int child = parentPage == EMPTY ? firstRootChild : firstChild[parentPage];
        for (int scanned = 0; child != EMPTY && scanned < MAX_SCANNED_CHILDREN; scanned++) {
            final int rows = commonRows(child, tokenIds, from, maxRows);
            if (rows > bestRows) {
                best = child;
                bestRows = rows;
            }
            child = nextSibling[child];
        }
        return best;
    }

    /** How many leading valid rows of registered {@code page} hold {@code tokenIds[from ..]}, at most {@code maxRows}. */
    int commonRows(int page, int[] tokenIds, int from, int maxRows) {
        final int limit = Math.min(maxRows, validRows[page]);
        final int base = page * pageSize;
        int rows = 0;
        while (rows < limit && tokens[base + rows] == tokenIds[from + rows]) {
            rows++;
        }
        return rows;
    }

    /** Valid rows of registered {@code page}: the page size for a full page, fewer for a partial one. */
    int validRows(int page) {
        return validRows[page];
    }

    /** {@code page} was just copied from: it moves to the front of its parent's children, first to be scanned. */
    void promote(int page) {
        if (parentPages[page] != ORPHAN) {
            unlink(page);
            linkFirst(page);
        }
    }

    private void linkFirst(int page) {
        final int parent = parentPages[page];
        final int first = parent == EMPTY ? firstRootChild : firstChild[parent];
        previousSibling[page] = EMPTY;
        nextSibling[page] = first;
        if (first != EMPTY) {
            previousSibling[first] = page;
        }
        if (parent == EMPTY) {
            firstRootChild = page;
        } else {
            firstChild[parent] = page;
        }
    }

    private void unlink(int page) {
        final int parent = parentPages[page];
        final int newerSibling = previousSibling[page];
        final int olderSibling = nextSibling[page];
        if (newerSibling == EMPTY) {
            if (parent == EMPTY) {
                firstRootChild = olderSibling;
            } else {
                firstChild[parent] = olderSibling;
            }
        } else {
            nextSibling[newerSibling] = olderSibling;
        }
        if (olderSibling != EMPTY) {
            previousSibling[olderSibling] = newerSibling;
        }
        previousSibling[page] = EMPTY;
        nextSibling[page] = EMPTY;
    }

    /** Registered pages, referenced or idle. */
    int registeredCount() {
        return registeredCount;
    }

    int idleCount() {
        return idleCount;
    }

    /** A registered page lost its last reference: it becomes the most recently released idle page. */
    void makeIdle(int page) {
        older[page] = idleTail;
        newer[page] = EMPTY;
        if (idleTail == EMPTY) {
            idleHead = page;
        } else {
            newer[idleTail] = page;
        }
        idleTail = page;
        idleCount++;
    }

    /** An idle page is referenced again (or evicted): it leaves the idle list. */
    void removeIdle(int page) {
        if (older[page] == EMPTY) {
            idleHead = newer[page];
        } else {
            newer[older[page]] = newer[page];
        }
        if (newer[page] == EMPTY) {
            idleTail = older[page];
        } else {
            older[newer[page]] = older[page];
        }
        idleCount--;
    }

    /** The least recently released idle page, or -1 when none is idle. */
    int oldestIdle() {
        return idleHead;
    }

    private int slotOf(long key) {
        return (int) (key ^ (key >>> 32)) & indexMask;
    }
}
