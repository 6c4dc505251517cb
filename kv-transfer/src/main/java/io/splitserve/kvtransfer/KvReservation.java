package io.splitserve.kvtransfer;

/**
 * Pages a {@link KvPageStore} set aside for one sequence: its block table. Page {@code i} of the reservation holds
 * tokens {@code [i * pageSize, (i + 1) * pageSize)}. Ownership passes from the receiver to the decode side when a
 * transfer is admitted; whoever owns it releases it exactly once.
 */
public final class KvReservation
{
    private final int tokens;
    private final int[] pages;

    public KvReservation(final int tokens, final int[] pages)
    {
        this.tokens = tokens;
        this.pages = pages;
    }

    public int tokens()
    {
        return tokens;
    }

    public int pageCount()
    {
        return pages.length;
    }

    /** The store's page index holding this sequence's {@code i}-th page. */
    public int page(final int i)
    {
        return pages[i];
    }
}
