package io.splitserve.engine.kv;

import java.util.Arrays;

/**
 * The pages of one sequence in token order: position {@code p} lives in page {@code page(p / pageSize)} at offset
 * {@code p % pageSize}. Grows as the sequence grows; owned and filled by {@link BlockManager}, which also keeps here
 * how far the sequence's full pages were offered to the prefix cache (the chain's last key and parent page).
 */
public final class BlockTable {
    private int[] pages = new int[4];
    private int pageCount;
    int offeredPages;
    long chainKey = PrefixCache.ROOT_KEY;
    int chainPage = -1;
    long chainRegistration;
    boolean chainBroken;

    public int pageCount() {
        return pageCount;
    }

    public int page(int index) {
        if (index >= pageCount) {
            throw new IndexOutOfBoundsException("page index " + index + " of a table with " + pageCount + " pages");
        }
        return pages[index];
    }

    /** Copies the page numbers into {@code dst} from {@code offset}. */
    public void copyTo(int[] dst, int offset) {
        System.arraycopy(pages, 0, dst, offset, pageCount);
    }

    void append(int page) {
        if (pageCount == pages.length) {
            pages = Arrays.copyOf(pages, pages.length * 2);
        }
        pages[pageCount++] = page;
    }

    int removeLast() {
        return pages[--pageCount];
    }

    /** Forgets what was offered to the prefix cache: the table starts a new chain. */
    void resetChain() {
        offeredPages = 0;
        chainKey = PrefixCache.ROOT_KEY;
        chainPage = -1;
        chainRegistration = 0;
        chainBroken = false;
    }

    void continueChain(long key, int page, long registration) {
        offeredPages++;
        chainKey = key;
        chainPage = page;
        chainRegistration = registration;
    }

    /**
     * Hands every page to {@code target} (which must be empty) in order; this table is empty afterwards. Neither
     * table has offered pages to the prefix cache afterwards.
     */
    public void moveTo(BlockTable target) {
        if (target.pageCount != 0) {
            throw new IllegalStateException("target block table already holds " + target.pageCount + " pages");
        }
        target.pages = pages;
        target.pageCount = pageCount;
        pages = new int[4];
        pageCount = 0;
        resetChain();
        target.resetChain();
    }
}
