package io.splitserve.kvtransfer;

import io.splitserve.sbe.KvPart;
import org.agrona.DirectBuffer;

/**
 * The decode node's KV memory as the receiver sees it: room for a sequence's KV reserved up front, written into by
 * logical position, and released. The wire layout per layer is {@code [tokens][kvHeads][headDim]} for K and for V;
 * the store maps a byte offset in that logical layout onto its own memory, so sender and receiver may page
 * differently. A {@link KvReservation} is the store's own handle: only the store that made it accepts it back.
 *
 * <p>The receiver calls {@link #reserve}, {@link #write} and, on every failing path, {@link #release} on its own
 * thread; after admission the {@link KvReceiveListener} owns the reservation and releases it. Each implementation
 * states which threads it allows.
 */
public interface KvPageStore
{
    KvGeometry geometry();

    /**
     * Reserve room for {@code tokens} tokens.
     *
     * @return the reservation, or {@code null} when there is not enough free memory, in which case nothing is reserved.
     */
    KvReservation reserve(int tokens);

    /**
     * Copy {@code length} bytes of layer {@code layer}'s {@code part} into the reservation, starting at
     * {@code byteOffset} within that layer part's logical {@code [tokens][kvHeads][headDim]} layout. A write may
     * start or end in the middle of a token row.
     */
    void write(KvReservation reservation, int layer, KvPart part, long byteOffset, DirectBuffer src, int srcIndex, int length);

    /**
     * Reserve room for {@code tokens} tokens whose ids the sender gave ({@code tokenIds}, as many as {@code tokens}), so
     * the store may cache the KV once admitted; a store that keeps no cache ignores the ids (the default).
     */
    default KvReservation reserve(int tokens, int[] tokenIds)
    {
        return reserve(tokens);
    }

    /**
     * Whether the store's prefix cache holds the KV of {@code tokenIds[0, cachedTokens)} now, in pages it can share with
     * a new sequence; a store that keeps no cache holds nothing (the default).
     */
    default boolean holdsPrefix(int[] tokenIds, int cachedTokens)
    {
        return false;
    }

    /**
     * Reserve room for a sequence of {@code tokens} tokens ({@code tokenIds}) whose first {@code cachedTokens} come from
     * the store's prefix cache, which {@link #holdsPrefix} just said it holds: the reservation takes the
     * {@code tokens - cachedTokens} rows after them, which {@link #write} offsets count from ({@link KvReservation#tokens()}
     * is that many).
     *
     * @return the reservation, or {@code null} when there is not enough free memory, in which case nothing is reserved.
     */
    default KvReservation reserve(int tokens, int[] tokenIds, int cachedTokens)
    {
        if (cachedTokens != 0)
        {
            throw new UnsupportedOperationException("this KV store keeps no prefix cache");
        }
        return reserve(tokens, tokenIds);
    }

    /** Return the reservation's memory to the free pool; the reservation must not be used afterwards. */
    void release(KvReservation reservation);

    /** The GPU path into this store, or null when its memory is not on a GPU (the default). */
    default DeviceKvIntake deviceIntake()
    {
        return null;
    }
}
