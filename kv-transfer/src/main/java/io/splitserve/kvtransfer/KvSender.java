package io.splitserve.kvtransfer;

import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferStatus;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.Agent;

/**
 * Prefill side of KV streaming: opens a transfer per request, streams each layer's K and V as soon as the caller
 * hands them over (chunks of at most {@link KvSenderContext#maxChunkBytes()}, in wire layout
 * {@code [tokens][kvHeads][headDim]}), and closes it with the CRC32C of every payload byte and the first token. On
 * the GPU path (a transfer begun with a {@link GpuKvExport}) no bytes travel here: each layer is announced with the
 * CRC32C of its K and V once it lies in the sender's exported device memory, the receiver copies it from there, and
 * End carries the CRC32C of those announced checksums.
 *
 * <p>Each begun transfer holds a lease on the request's KV. The lease ends exactly once, reported to the
 * {@link KvLeaseListener}: at the receiver's ack, when no ack came for the lease timeout after End, or when the
 * stream to the receiver fails (not connected, closed, back-pressured past the offer deadline). Before End the
 * owner is still computing the KV, however long a layer takes, so time alone does not end that lease (the owner
 * ends every transfer it begins); the receiver hears it is alive through {@link KvKeepAlivePublisher}. After that the
 * request's calls return false and send nothing. Closing the sender ends every open lease.
 *
 * <p>Not thread-safe: one thread calls every method, including {@link #doWork()}, which reads acks and expires
 * leases. Many transfers may be open at once; their chunks interleave on the one publication.
 */
public final class KvSender implements Agent, AutoCloseable
{
    private static final long LEASE_CHECK_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final int ACK_FRAGMENT_LIMIT = 64;

    private final KvSenderContext ctx;
    private final ExclusivePublication publication;
    private final Subscription ackSubscription;
    private final KvTransferProxy proxy;
    private final KvAckAdapter ackAdapter;
    private final Long2ObjectHashMap<OutboundTransfer> transfers = new Long2ObjectHashMap<>();
    private final ArrayDeque<OutboundTransfer> pool = new ArrayDeque<>();
    private final ArrayList<OutboundTransfer> ending = new ArrayList<>();
    private volatile long[] openRequestIds = new long[0];
    private long nextLeaseCheckNs;
    private boolean closed;

    /**
     * Adds the data publication and the ack subscription.
     *
     * @throws IllegalStateException when the context is incomplete or a chunk would not fit one Aeron message.
     */
    public KvSender(final KvSenderContext ctx)
    {
        this.ctx = ctx.conclude();
        this.publication = ctx.aeron().addExclusivePublication(ctx.channel(), ctx.streamId());
        final int maxMessage = publication.maxMessageLength();
        if (ctx.maxChunkBytes() + KvTransferProxy.CHUNK_HEADER_LENGTH > maxMessage)
        {
            CloseHelper.quietClose(publication);
            throw new IllegalStateException("KV chunks of " + ctx.maxChunkBytes() + " bytes exceed the max message length " +
                maxMessage + " of " + ctx.channel() + " (term length / 8): lower maxChunkBytes or raise term-length");
        }
        this.ackSubscription = ctx.aeron().addSubscription(ctx.ackChannel(), ctx.ackStreamId());
        this.proxy = new KvTransferProxy(publication, ctx.backPressureIdleStrategy(), ctx.nanoClock(), ctx.offerTimeoutNs());
        this.ackAdapter = new KvAckAdapter(this);
    }

    /** True once a receiver is subscribed to the data stream and this sender hears its ack stream. */
    public boolean isConnected()
    {
        return publication.isConnected() && ackSubscription.isConnected();
    }

    /** Transfers whose lease has not ended. */
    public int openTransfers()
    {
        return transfers.size();
    }

    /**
     * Open a transfer of {@code tokens} tokens of KV and start its lease.
     *
     * @return true when Begin went out; false when it could not, in which case the lease already ended.
     * @throws IllegalArgumentException on a bad size, or a token row larger than the chunk size.
     * @throws IllegalStateException when a transfer for {@code requestId} is already open.
     */
    public boolean begin(final long requestId, final KvGeometry geometry, final int tokens)
    {
        return begin(requestId, geometry, tokens, null);
    }

    /**
     * Open a transfer as {@link #begin(long, KvGeometry, int)} does; with a non-null {@code export} it takes the GPU
     * path: the KV lies in the sender's exported device memory as {@code export} describes, each layer is announced
     * with {@link #layerReady} (never {@link #sendPart}) once it is written there, and the receiver copies it out. The
     * exported memory must stay as it is until the lease ends.
     */
    public boolean begin(final long requestId, final KvGeometry geometry, final int tokens, final GpuKvExport export)
    {
        return begin(requestId, geometry, tokens, export, null);
    }

    /**
     * As {@link #begin(long, KvGeometry, int, GpuKvExport)}, sending the ids of the {@code tokens} tokens whose KV this
     * is when {@code tokenIds} is not null, so the receiver can cache it.
     *
     * @throws IllegalArgumentException when {@code tokenIds} does not hold exactly {@code tokens} ids.
     */
    public boolean begin(
        final long requestId, final KvGeometry geometry, final int tokens, final GpuKvExport export, final int[] tokenIds)
    {
        return begin(requestId, geometry, tokens, 0, export, tokenIds);
    }

    /**
     * As {@link #begin(long, KvGeometry, int, GpuKvExport, int[])} for a sequence of {@code tokens} tokens whose first
     * {@code cachedTokens} the receiver takes from its own prefix cache ({@code tokenIds} tell it which): only rows
     * {@code [cachedTokens, tokens)} travel, so every part sent, and the memory {@code export} describes, holds
     * {@code tokens - cachedTokens} rows. A receiver that no longer holds them answers REJECTED_PREFIX_MISSING.
     *
     * @throws IllegalArgumentException when {@code cachedTokens} is negative or leaves no row to send, or is positive
     *                                  without token ids.
     */
    public boolean begin(
        final long requestId,
        final KvGeometry geometry,
        final int tokens,
        final int cachedTokens,
        final GpuKvExport export,
        final int[] tokenIds)
    {
        return begin(requestId, 0, geometry, tokens, cachedTokens, export, tokenIds);
    }

    /**
     * As {@link #begin(long, KvGeometry, int, int, GpuKvExport, int[])} for the router's attempt {@code attemptToken}
     * (from its PrefillRequest; 0 for none), which Begin carries with this sender's node id so the receiver takes the
     * transfer only as the attempt its router placed there.
     */
    public boolean begin(
        final long requestId,
        final long attemptToken,
        final KvGeometry geometry,
        final int tokens,
        final int cachedTokens,
        final GpuKvExport export,
        final int[] tokenIds)
    {
        if (tokenIds != null && tokenIds.length != tokens)
        {
            throw new IllegalArgumentException(tokenIds.length + " token ids for a transfer of " + tokens + " tokens");
        }
        if (tokens <= 0)
        {
            throw new IllegalArgumentException("a KV transfer needs at least one token, got " + tokens);
        }
        if (cachedTokens < 0 || cachedTokens >= tokens || (cachedTokens > 0 && tokenIds == null))
        {
            throw new IllegalArgumentException(cachedTokens + " cached tokens of a transfer of " + tokens + " tokens" +
                (tokenIds == null ? " without token ids" : "") + ": at least one row must travel");
        }
        final int chunkTokens = ctx.maxChunkBytes() / geometry.rowBytes();
        if (chunkTokens == 0)
        {
            throw new IllegalArgumentException("one token row of " + geometry.rowBytes() +
                " bytes exceeds the chunk size of " + ctx.maxChunkBytes());
        }
        if (transfers.containsKey(requestId))
        {
            throw new IllegalStateException("KV transfer " + requestId + " is already open");
        }
        final OutboundTransfer transfer = pool.isEmpty() ? new OutboundTransfer() : pool.pollFirst();
        transfer.init(requestId, geometry, tokens - cachedTokens, chunkTokens,
            ctx.nanoClock().nanoTime() + ctx.leaseTimeoutNs());
        transfer.gpu = export != null;
        transfers.put(requestId, transfer);
        publishOpenRequestIds();
        final KvTransferStatus status =
            proxy.begin(requestId, attemptToken, ctx.senderNodeId(), ctx.modelFingerprint(), geometry, tokens, cachedTokens,
                export, tokenIds);
        if (status != KvTransferStatus.OK)
        {
            endLease(transfer, status);
            return false;
        }
        return true;
    }

    /** Send layer {@code layer}'s K then V; see {@link #sendPart}. */
    public boolean sendLayer(
        final long requestId, final int layer, final DirectBuffer k, final int kIndex, final DirectBuffer v, final int vIndex)
    {
        return sendPart(requestId, layer, KvPart.K, k, kIndex) && sendPart(requestId, layer, KvPart.V, v, vIndex);
    }

    /**
     * Send one layer's K or V: {@code tokens * rowBytes} bytes of {@code src} from {@code index}, laid out
     * {@code [tokens][kvHeads][headDim]}. Acks that arrived meanwhile are read first, so a receiver that has already
     * answered (e.g. REJECTED_NO_MEMORY) stops the stream.
     *
     * @return true when every chunk went out; false when the lease has ended (now or earlier).
     * @throws IllegalArgumentException on a bad layer or a source too short.
     * @throws IllegalStateException when this part was already sent or the transfer was ended.
     */
    public boolean sendPart(final long requestId, final int layer, final KvPart part, final DirectBuffer src, final int index)
    {
        pollAcks();
        final OutboundTransfer transfer = transfers.get(requestId);
        if (transfer == null)
        {
            return false;
        }
        final KvGeometry geometry = transfer.geometry;
        final int rowBytes = geometry.rowBytes();
        final long partBytes = geometry.partBytes(transfer.tokens);
        if (layer < 0 || layer >= geometry.layers() || part == null || part == KvPart.NULL_VAL)
        {
            throw new IllegalArgumentException("no layer part " + layer + "/" + part + " in " + geometry);
        }
        if (index < 0 || index + partBytes > src.capacity())
        {
            throw new IllegalArgumentException("layer " + layer + " " + part + " needs " + partBytes + " bytes from index " +
                index + ", the buffer holds " + src.capacity());
        }
        if (transfer.ended)
        {
            throw new IllegalStateException("KV transfer " + requestId + " already ended");
        }
        if (transfer.gpu)
        {
            throw new IllegalStateException("KV transfer " + requestId + " takes the GPU path: announce layers, send no bytes");
        }
        if (!transfer.markSent(2 * layer + part.value()))
        {
            throw new IllegalStateException("layer " + layer + " " + part + " of KV transfer " + requestId + " already sent");
        }

        for (int tokenOffset = 0; tokenOffset < transfer.tokens; tokenOffset += transfer.chunkTokens)
        {
            final int tokenCount = Math.min(transfer.chunkTokens, transfer.tokens - tokenOffset);
            final int chunkIndex = index + tokenOffset * rowBytes;
            final int chunkBytes = tokenCount * rowBytes;
            final KvTransferStatus status = proxy.chunk(
                requestId, layer, part, tokenOffset, tokenCount, src, chunkIndex, chunkBytes, transfer.crcState);
            if (status != KvTransferStatus.OK)
            {
                endLease(transfer, status);
                return false;
            }
            transfer.crcState = proxy.crcState();
        }
        transfer.leaseDeadlineNs = ctx.nanoClock().nanoTime() + ctx.leaseTimeoutNs();
        return true;
    }

    /**
     * GPU path: layer {@code layer}'s K and V are written in the exported memory (the copy has landed), with the
     * CRC32C of each as computed on the sender's GPU; the receiver copies them out and compares. Acks that arrived
     * meanwhile are read first.
     *
     * @return true when the announcement went out; false when the lease has ended (now or earlier).
     * @throws IllegalArgumentException on a bad layer.
     * @throws IllegalStateException when the transfer takes the host path, was ended, or the layer was announced.
     */
    public boolean layerReady(final long requestId, final int layer, final int crcK, final int crcV)
    {
        pollAcks();
        final OutboundTransfer transfer = transfers.get(requestId);
        if (transfer == null)
        {
            return false;
        }
        if (layer < 0 || layer >= transfer.geometry.layers())
        {
            throw new IllegalArgumentException("no layer " + layer + " in " + transfer.geometry);
        }
        if (!transfer.gpu || transfer.ended)
        {
            throw new IllegalStateException("KV transfer " + requestId + (transfer.ended ? " already ended" :
                " takes the host path: send the layer's bytes"));
        }
        if (!transfer.markSent(2 * layer) || !transfer.markSent(2 * layer + 1))
        {
            throw new IllegalStateException("layer " + layer + " of KV transfer " + requestId + " already announced");
        }
        transfer.layerCrcs[2 * layer] = crcK;
        transfer.layerCrcs[2 * layer + 1] = crcV;
        final KvTransferStatus status = proxy.layerReady(requestId, layer, crcK, crcV);
        if (status != KvTransferStatus.OK)
        {
            endLease(transfer, status);
            return false;
        }
        transfer.leaseDeadlineNs = ctx.nanoClock().nanoTime() + ctx.leaseTimeoutNs();
        return true;
    }

    /**
     * Close the transfer with the checksum of everything sent and the first sampled token; the lease then lasts
     * until the receiver's ack or the lease timeout. A transfer ended before all its parts were sent is answered
     * FAILED_CHECKSUM by the receiver.
     *
     * @return true when End went out; false when the lease has ended (now or earlier).
     */
    public boolean end(final long requestId, final int firstToken)
    {
        pollAcks();
        final OutboundTransfer transfer = transfers.get(requestId);
        if (transfer == null)
        {
            return false;
        }
        if (transfer.ended)
        {
            throw new IllegalStateException("KV transfer " + requestId + " already ended");
        }
        final int crc = transfer.gpu ?
            Crc32c.ofInts(transfer.layerCrcs, 2 * transfer.geometry.layers()) : Crc32c.finish(transfer.crcState);
        final KvTransferStatus status = proxy.end(requestId, crc, firstToken);
        if (status != KvTransferStatus.OK)
        {
            endLease(transfer, status);
            return false;
        }
        transfer.ended = true;
        transfer.leaseDeadlineNs = ctx.nanoClock().nanoTime() + ctx.leaseTimeoutNs();
        return true;
    }

    /**
     * The request ids of the transfers open at the last begin or lease end, for a thread other than the owner's (the
     * node's liveness thread, which keeps them audible with {@link KvKeepAlivePublisher}); never changed in place.
     */
    public long[] openRequestIds()
    {
        return openRequestIds;
    }

    // a fresh array per begin and lease end (once per request, not per chunk), so readers never see one change
    private void publishOpenRequestIds()
    {
        final long[] ids = new long[transfers.size()];
        int i = 0;
        for (final Long2ObjectHashMap<OutboundTransfer>.KeyIterator keys = transfers.keySet().iterator(); keys.hasNext(); )
        {
            ids[i++] = keys.nextLong();
        }
        openRequestIds = ids;
    }

    /** The data stream's channel and stream id, where a {@link KvKeepAlivePublisher} for this sender publishes. */
    public String channel()
    {
        return ctx.channel();
    }

    public int streamId()
    {
        return ctx.streamId();
    }

    @Override
    public int doWork()
    {
        int workCount = pollAcks();
        final long nowNs = ctx.nanoClock().nanoTime();
        if (nowNs - nextLeaseCheckNs >= 0)
        {
            nextLeaseCheckNs = nowNs + LEASE_CHECK_INTERVAL_NS;
            workCount += expireLeases(nowNs);
        }
        return workCount;
    }

    @Override
    public String roleName()
    {
        return "kv-sender";
    }

    @Override
    public void onClose()
    {
        close();
    }

    /** Ends every open lease with FAILED_DISCONNECTED, then closes the publication and subscription. */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        ending.addAll(transfers.values());
        endLeases(KvTransferStatus.FAILED_DISCONNECTED);
        CloseHelper.closeAll(ackSubscription, publication);
    }

    void onAck(final long requestId, final KvTransferStatus status)
    {
        final OutboundTransfer transfer = transfers.get(requestId);
        if (transfer != null)
        {
            endLease(transfer, status);
        }
    }

    private int pollAcks()
    {
        return ackSubscription.poll(ackAdapter, ACK_FRAGMENT_LIMIT);
    }

    private int expireLeases(final long nowNs)
    {
        if (transfers.isEmpty())
        {
            return 0;
        }
        final boolean connected = publication.isConnected();
        for (final OutboundTransfer transfer : transfers.values())
        {
            if (!connected || (transfer.ended && nowNs - transfer.leaseDeadlineNs > 0))
            {
                ending.add(transfer);
            }
        }
        final int expired = ending.size();
        endLeases(connected ? KvTransferStatus.FAILED_TIMEOUT : KvTransferStatus.FAILED_DISCONNECTED);
        return expired;
    }

    // leases are collected first and ended after, so a listener may open new transfers while this runs
    private void endLeases(final KvTransferStatus status)
    {
        for (int i = 0; i < ending.size(); i++)
        {
            endLease(ending.get(i), status);
        }
        ending.clear();
    }

    private void endLease(final OutboundTransfer transfer, final KvTransferStatus status)
    {
        final long requestId = transfer.requestId;
        transfers.remove(requestId);
        publishOpenRequestIds();
        transfer.geometry = null;
        pool.addLast(transfer);
        ctx.leaseListener().onLeaseEnded(requestId, status);
    }
}
