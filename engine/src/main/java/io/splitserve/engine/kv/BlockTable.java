package io.splitserve.engine.kv;

import java.util.Arrays;

/**
 * The pages of one sequence in token order: position {@code p} lives in page {@code page(p / pageSize)} at offset
 * {@code p % pageSize}. Grows as the sequence grows; owned and filled by {@link BlockManager}.
 */
public final class BlockTable {
    private int[] pages = new int[4];
    private int pageCount;

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

    /** Hands every page to {@code target} (which must be empty) in order; this table is empty afterwards. */
    public void moveTo(BlockTable target) {
        if (target.pageCount != 0) {
            throw new IllegalStateException("target block table already holds " + target.pageCount + " pages");
        }
        target.pages = pages;
        target.pageCount = pageCount;
        pages = new int[4];
        pageCount = 0;
    }
}
