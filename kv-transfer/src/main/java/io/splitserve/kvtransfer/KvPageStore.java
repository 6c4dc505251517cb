package io.splitserve.kvtransfer;

import io.splitserve.sbe.KvPart;
import org.agrona.DirectBuffer;

/**
 * The decode node's KV memory as the receiver sees it: pages of {@link #pageSize()} tokens that can be reserved for
 * a sequence up front, written into by logical position, and released. The wire layout per layer is
 * {@code [tokens][kvHeads][headDim]} for K and for V; the store maps a byte offset in that logical layout onto its own
 * pages, so sender and receiver may page differently.
 *
 * <p>Implementations must allow {@link #reserve} and {@link #release} from any thread; {@link #write} is called only
 * by the thread that owns the reservation.
 */
public interface KvPageStore
{
    KvGeometry geometry();

    /** Tokens per page. */
    int pageSize();

    /**
     * Reserve pages for {@code tokens} tokens.
     *
     * @return the reservation, or {@code null} when there are not enough free pages, in which case nothing is reserved.
     */
    KvReservation reserve(int tokens);

    /**
     * Copy {@code length} bytes of layer {@code layer}'s {@code part} into the reservation, starting at
     * {@code byteOffset} within that layer part's logical {@code [tokens][kvHeads][headDim]} layout. A write may
     * start or end in the middle of a token row.
     */
    void write(KvReservation reservation, int layer, KvPart part, long byteOffset, DirectBuffer src, int srcIndex, int length);

    /** Return the reservation's pages to the free pool; the reservation must not be used afterwards. */
    void release(KvReservation reservation);
}
