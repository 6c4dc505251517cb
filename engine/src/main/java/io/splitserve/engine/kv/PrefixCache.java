package io.splitserve.engine.kv;

import java.util.Arrays;

/**
 * The content index of full KV pages, so that a prompt that repeats a prefix can share the pages that already hold
 * its K/V. A registered page is keyed by a chain: the key of (its parent page's key, its own token ids), the first
 * page of a sequence having {@link #ROOT_KEY} as parent key, so a page matches only together with its whole prefix.
 *
 * <p>Keys only find candidates. A candidate matches when its stored token ids equal the ones looked up and its
 * recorded parent is exactly the page matched one level up, in the same registration (every registration gets an id
 * never used again, so a parent that was evicted and reused since does not count). By induction from the first page,
 * a matched page holds K/V of exactly the looked-up prefix, whatever the hash: a collision can only cost a hit,
 * never share wrong KV. A registered page is full and never written again while it stays registered.
 *
 * <p>It also keeps the registered pages that no sequence references (idle) in least recently released order, which
 * {@link BlockManager} evicts from when the free list is empty. It knows nothing about models or reference counts:
 * {@link BlockManager} tells it when a page turns idle or is taken again. No allocation after construction.
 */
final class PrefixCache {
    /** The parent key of a sequence's first page. */
    static final long ROOT_KEY = 0x6A09E667F3BCC909L;
    private static final int EMPTY = -1;

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
    private final int[] tokens; // [page][pageSize]
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
        if (parentPages[page] != parentPage || parentRegistrations[page] != parentRegistration) {
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
        registrations[page] = nextRegistration++;
        parentPages[page] = parentPage;
        parentRegistrations[page] = parentRegistration;
        System.arraycopy(tokenIds, from, tokens, page * pageSize, pageSize);
        int slot = slotOf(key);
        while (index[slot] != EMPTY) {
            slot = (slot + 1) & indexMask;
        }
        index[slot] = page;
        registeredCount++;
    }

    /** Drops a registered page from the index (its content is about to be overwritten). */
    void unregister(int page) {
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
        registrations[page] = 0;
        registeredCount--;
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
