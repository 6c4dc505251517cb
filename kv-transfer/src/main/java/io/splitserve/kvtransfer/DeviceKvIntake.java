package io.splitserve.kvtransfer;

import io.splitserve.sbe.KvTransferStatus;

/**
 * The decode node's side of the GPU path: it takes KV straight out of a sender's exported device memory into its own
 * pages, layer by layer, and says what arrived by a CRC32C it computes on its own GPU over the bytes it copied. A
 * {@link KvPageStore} offers it when its memory is on a GPU ({@link KvPageStore#deviceIntake()}).
 *
 * <p>The receiver calls it on its own thread: {@link #reserve} at Begin, {@link #attach} at Begin (before any copy),
 * {@link #copyLayer} at each KvLayerReady, {@link #landedChecksums} at End, and {@link #detach} once the stream of
 * the sender that exported an arena has closed; a reservation made here is released or taken through the
 * {@link KvPageStore} like any other.
 */
public interface DeviceKvIntake
{
    /**
     * Reserve room for {@code tokens} tokens of KV that will be copied from device memory.
     *
     * @return the reservation, or {@code null} when there is not enough free memory (nothing reserved).
     */
    KvReservation reserve(int tokens);

    /** As {@link #reserve(int)}, for tokens whose ids the sender gave, so the store may cache the KV once admitted. */
    default KvReservation reserve(int tokens, int[] tokenIds)
    {
        return reserve(tokens);
    }

    /**
     * As {@link KvPageStore#reserve(int, int[], int)}: the first {@code cachedTokens} tokens come from the store's
     * prefix cache (its {@link KvPageStore#holdsPrefix} said so) and the export holds only the rows after them.
     */
    default KvReservation reserve(int tokens, int[] tokenIds, int cachedTokens)
    {
        if (cachedTokens != 0)
        {
            throw new UnsupportedOperationException("this KV store keeps no prefix cache");
        }
        return reserve(tokens, tokenIds);
    }

    /**
     * Makes the export readable from this node's GPU, checking that it may be: OK; FAILED_GPU_PEER_ACCESS when the
     * exporter is on another host or its GPU cannot be reached from this one; FAILED_GPU_HANDLE when its memory
     * cannot be opened (its process is gone, the handle is not valid). A mapping is kept per arena and reused.
     */
    KvTransferStatus attach(GpuKvExport export);

    /**
     * Queues the copy of layer {@code layer}'s K and V from the (attached) export into the reservation's pages, and
     * the checksum of each as it landed; returns without waiting.
     */
    void copyLayer(KvReservation reservation, GpuKvExport export, int layer);

    /**
     * Waits for every copy queued for the reservation, then writes the CRC32C of each layer part as it landed into
     * {@code crcs} ({@code crcs[2 * layer]} K, {@code crcs[2 * layer + 1]} V); parts never copied read as 0.
     */
    void landedChecksums(KvReservation reservation, int[] crcs);

    /**
     * The sender that exported arena {@code arenaId} is gone (its stream closed, every transfer from it already
     * failed): unmap the arena, so that memory of a process that died is not held for good. An arena attached again
     * later is mapped anew.
     */
    void detach(long arenaId);
}
