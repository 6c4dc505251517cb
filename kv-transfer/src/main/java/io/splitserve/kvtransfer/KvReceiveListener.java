package io.splitserve.kvtransfer;

import io.splitserve.sbe.KvTransferStatus;

/**
 * The decode side's view of inbound transfers, called on the receiver's thread. A transfer ends in exactly one of
 * the two calls; it is admitted only after its End matched the checksum of every payload byte.
 */
public interface KvReceiveListener
{
    /**
     * The transfer verified: the reservation now holds the whole KV of {@code reservation.tokens()} tokens and belongs
     * to the listener, which releases it to the page store when the sequence finishes.
     */
    void onTransferAdmitted(long requestId, KvReservation reservation, int firstToken);

    /** The transfer failed; its pages, if any were reserved, are already released. */
    void onTransferFailed(long requestId, KvTransferStatus status);
}
