package io.splitserve.kvtransfer;

/**
 * A {@link KvPageStore}'s handle on the memory it set aside for one sequence's KV. The receiver learns from it only
 * how many tokens it holds; where they live is the store's business, so only the store that made a reservation
 * accepts it back (a store implements this type with whatever it needs to find that memory again). Ownership passes
 * from the receiver to the {@link KvReceiveListener} when a transfer is admitted; whoever owns it releases it exactly
 * once.
 */
public interface KvReservation
{
    /** Tokens of KV the reservation takes from the sender: those after any the store had cached. */
    int tokens();
}
