package io.splitserve.kvtransfer;

import java.util.Arrays;

/**
 * Sender-side state of one transfer while its lease lasts: what it is, the running checksum of what was sent,
 * which layer parts went out, and when the lease runs out. Instances are pooled by the sender and reused.
 */
final class OutboundTransfer
{
    long requestId;
    KvGeometry geometry;
    int tokens;
    int chunkTokens;
    int crcState;
    long leaseDeadlineNs;
    boolean ended;
    /** GPU path: KvLayerReady messages instead of chunks; {@link #layerCrcs} holds what each reported. */
    boolean gpu;
    int[] layerCrcs = new int[0];
    /** One bit per layer part (2 * layer + part) already sent; a part is sent once. */
    long[] partsSent = new long[0];

    void init(
        final long requestId, final KvGeometry geometry, final int tokens, final int chunkTokens, final long leaseDeadlineNs)
    {
        this.requestId = requestId;
        this.geometry = geometry;
        this.tokens = tokens;
        this.chunkTokens = chunkTokens;
        this.crcState = Crc32c.INITIAL;
        this.leaseDeadlineNs = leaseDeadlineNs;
        this.ended = false;
        this.gpu = false;
        if (layerCrcs.length < 2 * geometry.layers())
        {
            layerCrcs = new int[2 * geometry.layers()];
        }
        final int words = (2 * geometry.layers() + 63) / 64;
        if (partsSent.length < words)
        {
            partsSent = new long[words];
        }
        else
        {
            Arrays.fill(partsSent, 0L);
        }
    }

    /** Marks a layer part as sent; false when it already was. */
    boolean markSent(final int partIndex)
    {
        final long bit = 1L << (partIndex & 63);
        final int word = partIndex >>> 6;
        if ((partsSent[word] & bit) != 0)
        {
            return false;
        }
        partsSent[word] |= bit;
        return true;
    }
}
