package io.splitserve.kvtransfer;

import io.aeron.ExclusivePublication;
import io.aeron.Image;
import io.aeron.Subscription;
import io.splitserve.sbe.KvChunkDecoder;
import io.splitserve.sbe.KvLayerReadyDecoder;
import io.splitserve.sbe.KvPath;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferBeginDecoder;
import io.splitserve.sbe.KvTransferEndDecoder;
import io.splitserve.sbe.KvTransferStatus;
import java.util.ArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.IntHashSet;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Decode side of KV streaming, run as an agent. At Begin it checks the model fingerprint and geometry
 * (FAILED_INCOMPATIBLE) and reserves pages for the whole sequence or refuses at once (REJECTED_NO_MEMORY, nothing
 * reserved), handing the store the token ids when the sender gave them (as many as the tokens, or FAILED_INCOMPATIBLE).
 * Chunks are scattered straight from the log buffer into the reserved pages while a CRC32C runs over them in arrival
 * order. At End the sequence is handed to the {@link KvReceiveListener} only if every byte arrived
 * and the checksum matches (FAILED_CHECKSUM otherwise). The transfer timeout counts silence only: a transfer that
 * hears none of its messages and no KvKeepAlive naming it for the transfer timeout fails with FAILED_TIMEOUT, so a
 * sender that computes a layer for longer than the timeout keeps its transfers open by saying it is alive, and one
 * whose sender's data stream goes away fails with FAILED_DISCONNECTED. A keep-alive may come on any session (the
 * sender's liveness thread publishes on a stream of its own); it names transfers by request id, which is unique.
 *
 * A second Begin for a request id that is still open, from the same session, fails the open transfer with
 * FAILED_INCOMPATIBLE.
 *
 * <p>Who may send: a Begin opens a transfer only when the context's {@link KvAdmissions} says an admission waits for its
 * (request id, attempt token, sender node id) ({@link KvBeginCheck#ADMITTED}). One whose token or sender does not match
 * is refused; one no admission waits for yet is held: its session is not read past it (so that sender's later messages
 * wait behind it, and a stranger holds up only itself) until its admission comes or the Begin hold timeout passes, and
 * then it is refused, as it is at once when {@link KvReceiverContext#maxHeldBegins()} sessions already hold one. A
 * Begin, chunk, layer announcement or End of an open transfer from another publication session than the one whose
 * Begin opened it is refused too, so a stranger cannot write into, end or fail a real transfer. Refused messages are
 * dropped unanswered (nothing reserved, no ack, the listener not told: the request id may be a real transfer's),
 * counted by {@link KvRefusal} ({@link #refused}) and said once per source session in the context's log.
 *
 * <p>A Begin with {@code cachedTokens} > 0 (schema version 5) sends only the rows after them: it must carry the token
 * ids (FAILED_INCOMPATIBLE otherwise), and the store must hold those leading tokens in its prefix cache now, or the
 * transfer is refused at once with REJECTED_PREFIX_MISSING (nothing reserved) so the sender can send the whole KV
 * instead; otherwise the store shares its cached pages for them and reserves the rest.
 *
 * <p>GPU path (a Begin with {@code path} GPU): the store's {@link DeviceKvIntake} first maps the sender's exported
 * memory or refuses at once (FAILED_GPU_PEER_ACCESS when this node's KV is not on a GPU or cannot reach the sender's,
 * FAILED_GPU_HANDLE when the description is malformed or the memory cannot be opened), then reserves; each
 * KvLayerReady queues that layer's copy and its checksum on this node's GPU; at End every layer must have been
 * announced, End's checksum must match the announced ones, and every part must have landed with the announced
 * CRC32C, or the transfer fails FAILED_CHECKSUM. Chunks for a GPU-path transfer, or announcements for a host-path one,
 * fail it FAILED_INCOMPATIBLE. Once a sender's stream is gone (its transfers failed FAILED_DISCONNECTED), every arena
 * it exported from is detached from the store, so a dead prefill process's GPU memory is not held.
 *
 * <p>Every transfer ends in exactly one verdict; pages are released on every failing path and owned by the listener
 * after admission. Every verdict is acked to the sender on a best-effort basis. Not thread-safe: one thread calls
 * {@link #doWork()} and {@link #close()}.
 */
public final class KvReceiver implements Agent, AutoCloseable
{
    private static final long CHECK_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(1);

    private final KvReceiverContext ctx;
    private final KvPageStore store;
    private final KvGeometry geometry;
    private final KvReceiveListener listener;
    private final Subscription subscription;
    private final ExclusivePublication ackPublication;
    private final KvTransferAdapter adapter;
    private final KvAckProxy ackProxy;
    private final Long2ObjectHashMap<InboundTransfer> transfers = new Long2ObjectHashMap<>();
    private final UnsafeBuffer exportBytes = new UnsafeBuffer(new byte[1024]);
    /** GPU path: the arena each sender session exported from, unmapped once that session's image is gone. */
    private final Int2ObjectHashMap<LongHashSet> arenasBySession = new Int2ObjectHashMap<>();
    private final ArrayList<InboundTransfer> failing = new ArrayList<>();
    /** Sessions (as longs) whose next message is a Begin held for its admission, with when it was first held. */
    private final Long2LongHashMap heldBeginSinceBySession = new Long2LongHashMap(Long.MIN_VALUE);
    private final IntHashSet refusalLoggedSessions = new IntHashSet();
    private final AtomicLongArray refused = new AtomicLongArray(KvRefusal.values().length);
    private long nextCheckNs;
    private boolean closed;

    /**
     * Adds the data subscription and the ack publication.
     *
     * @throws IllegalStateException when the context is incomplete.
     */
    public KvReceiver(final KvReceiverContext ctx)
    {
        this.ctx = ctx.conclude();
        this.store = ctx.pageStore();
        this.geometry = store.geometry();
        this.listener = ctx.receiveListener();
        this.subscription = ctx.aeron().addSubscription(ctx.channel(), ctx.streamId());
        this.ackPublication = ctx.aeron().addExclusivePublication(ctx.ackChannel(), ctx.ackStreamId());
        this.adapter = new KvTransferAdapter(this);
        this.ackProxy = new KvAckProxy(ackPublication, ctx.backPressureIdleStrategy(), ctx.nanoClock(), ctx.ackOfferTimeoutNs());
    }

    /** True once a sender's stream is heard and a sender listens for acks. */
    public boolean isConnected()
    {
        return subscription.isConnected() && ackPublication.isConnected();
    }

    /** Messages refused for {@code why} since this receiver started; any thread may read it. */
    public long refused(final KvRefusal why)
    {
        return refused.get(why.ordinal());
    }

    /** Transfers begun and not yet given a verdict. */
    public int openTransfers()
    {
        return transfers.size();
    }

    @Override
    public int doWork()
    {
        int workCount = subscription.controlledPoll(adapter, ctx.fragmentLimit());
        final long nowNs = ctx.nanoClock().nanoTime();
        if (nowNs - nextCheckNs >= 0)
        {
            nextCheckNs = nowNs + CHECK_INTERVAL_NS;
            workCount += failStalledTransfers(nowNs);
        }
        return workCount;
    }

    @Override
    public String roleName()
    {
        return "kv-receiver";
    }

    @Override
    public void onClose()
    {
        close();
    }

    /** Fails every open transfer with FAILED_DISCONNECTED (releasing its pages), then closes the streams. */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        failing.addAll(transfers.values());
        failAll(KvTransferStatus.FAILED_DISCONNECTED);
        CloseHelper.closeAll(subscription, ackPublication);
    }

    /** Returns false when the Begin is held: its session is to be read from it again later. */
    boolean onBegin(final int sessionId, final KvTransferBeginDecoder begin)
    {
        final long requestId = begin.requestId();
        final long attemptToken = begin.attemptToken() == KvTransferBeginDecoder.attemptTokenNullValue() ?
            0 : begin.attemptToken(); // a sender older than version 5 names no attempt and no sender
        final int senderNodeId = begin.senderNodeId() == KvTransferBeginDecoder.senderNodeIdNullValue() ?
            0 : begin.senderNodeId();
        final InboundTransfer duplicate = transfers.get(requestId);
        if (duplicate != null && duplicate.sessionId != sessionId)
        {
            refuse(sessionId, requestId, KvRefusal.FOREIGN_SESSION);
            return true;
        }
        final KvBeginCheck check = ctx.admissions().check(requestId, attemptToken, senderNodeId);
        if (check == KvBeginCheck.NOT_ADMITTED && holds(sessionId))
        {
            return false;
        }
        heldBeginSinceBySession.remove(sessionId);
        if (check != KvBeginCheck.ADMITTED)
        {
            refuse(sessionId, requestId, KvRefusal.of(check));
            return true;
        }
        if (duplicate != null)
        {
            fail(duplicate, KvTransferStatus.FAILED_INCOMPATIBLE);
            return true;
        }
        open(sessionId, requestId, begin);
        return true;
    }

    // whether the session's Begin, which no admission waits for, is (still) held
    private boolean holds(final int sessionId)
    {
        final long nowNs = ctx.nanoClock().nanoTime();
        final long sinceNs = heldBeginSinceBySession.get(sessionId);
        if (sinceNs == heldBeginSinceBySession.missingValue())
        {
            if (ctx.beginHoldTimeoutNs() == 0 || heldBeginSinceBySession.size() >= ctx.maxHeldBegins())
            {
                return false;
            }
            heldBeginSinceBySession.put(sessionId, nowNs);
            return true;
        }
        return nowNs - sinceNs < ctx.beginHoldTimeoutNs();
    }

    private void refuse(final int sessionId, final long requestId, final KvRefusal why)
    {
        refused.incrementAndGet(why.ordinal());
        if (refusalLoggedSessions.add(sessionId))
        {
            ctx.log().accept("kv-receiver: refused a message of KV transfer " + requestId + " from session " + sessionId +
                ": " + why.label() + " (further refusals from this session are counted, not logged)");
        }
    }

    private void open(final int sessionId, final long requestId, final KvTransferBeginDecoder begin)
    {
        final int tokens = begin.tokens();
        final int cachedTokens = begin.cachedTokens() == KvTransferBeginDecoder.cachedTokensNullValue() ?
            0 : begin.cachedTokens(); // a sender older than version 5 sends every row
        final boolean gpuPath = begin.pathRaw() == KvPath.GPU.value();
        final boolean compatible = begin.modelFingerprint() == ctx.modelFingerprint() &&
            begin.layers() == geometry.layers() &&
            begin.kvHeads() == geometry.kvHeads() &&
            begin.headDim() == geometry.headDim() &&
            begin.dtypeRaw() == geometry.dtype().value() &&
            tokens > 0 &&
            cachedTokens >= 0 && cachedTokens < tokens &&
            begin.totalBytes() == geometry.totalBytes(tokens - cachedTokens) &&
            (gpuPath || begin.pathRaw() == KvPath.HOST.value() || begin.pathRaw() == KvPath.NULL_VAL.value());
        final long totalBytes = begin.totalBytes();
        if (!compatible)
        {
            reject(requestId, KvTransferStatus.FAILED_INCOMPATIBLE);
            return;
        }
        // the var data, in schema order: the GPU export (empty on the host path), then the token ids (may be empty)
        final int exportLength = begin.gpuExportLength();
        if (exportLength > exportBytes.capacity())
        {
            begin.skipGpuExport();
            reject(requestId, gpuPath ? KvTransferStatus.FAILED_GPU_HANDLE : KvTransferStatus.FAILED_INCOMPATIBLE);
            return;
        }
        begin.getGpuExport(exportBytes, 0, exportLength);
        final int idBytes = begin.tokenIdsLength();
        int[] tokenIds = null;
        if (idBytes != 0)
        {
            if (idBytes != 4L * tokens)
            {
                reject(requestId, KvTransferStatus.FAILED_INCOMPATIBLE);
                return;
            }
            final byte[] ids = new byte[idBytes];
            begin.getTokenIds(ids, 0, idBytes);
            tokenIds = new int[tokens];
            java.nio.ByteBuffer.wrap(ids).order(java.nio.ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(tokenIds);
        }
        if (cachedTokens > 0)
        {
            if (tokenIds == null)
            {
                reject(requestId, KvTransferStatus.FAILED_INCOMPATIBLE);
                return;
            }
            if (!store.holdsPrefix(tokenIds, cachedTokens))
            {
                reject(requestId, KvTransferStatus.REJECTED_PREFIX_MISSING);
                return;
            }
        }
        if (gpuPath)
        {
            beginFromDevice(requestId, sessionId, tokens, cachedTokens, totalBytes, exportLength, tokenIds);
            return;
        }
        final KvReservation reservation = store.reserve(tokens, tokenIds, cachedTokens);
        if (reservation == null)
        {
            reject(requestId, KvTransferStatus.REJECTED_NO_MEMORY);
            return;
        }
        transfers.put(requestId,
            new InboundTransfer(requestId, sessionId, reservation, totalBytes, ctx.nanoClock().nanoTime()));
    }

    // GPU path: the export must be readable from this node's GPU before anything is reserved for it
    private void beginFromDevice(
        final long requestId,
        final int sessionId,
        final int tokens,
        final int cachedTokens,
        final long totalBytes,
        final int length,
        final int[] tokenIds)
    {
        final DeviceKvIntake intake = store.deviceIntake();
        if (intake == null)
        {
            reject(requestId, KvTransferStatus.FAILED_GPU_PEER_ACCESS);
            return;
        }
        final GpuKvExport export;
        try
        {
            export = GpuKvExport.decode(exportBytes, 0, length);
        }
        catch (final IllegalArgumentException ex)
        {
            reject(requestId, KvTransferStatus.FAILED_GPU_HANDLE);
            return;
        }
        final KvTransferStatus attached = intake.attach(export);
        if (attached != KvTransferStatus.OK)
        {
            reject(requestId, attached);
            return;
        }
        final KvReservation reservation = intake.reserve(tokens, tokenIds, cachedTokens);
        if (reservation == null)
        {
            reject(requestId, KvTransferStatus.REJECTED_NO_MEMORY);
            return;
        }
        transfers.put(requestId, new InboundTransfer(
            requestId, sessionId, reservation, totalBytes, ctx.nanoClock().nanoTime(), export, geometry.layers()));
        LongHashSet arenas = arenasBySession.get(sessionId);
        if (arenas == null)
        {
            arenas = new LongHashSet();
            arenasBySession.put(sessionId, arenas);
        }
        arenas.add(export.arenaId());
    }

    void onLayerReady(final int sessionId, final KvLayerReadyDecoder ready)
    {
        final InboundTransfer transfer = transfers.get(ready.requestId());
        if (transfer == null)
        {
            return;
        }
        final int layer = ready.layer();
        if (transfer.sessionId != sessionId)
        {
            refuse(sessionId, transfer.requestId, KvRefusal.FOREIGN_SESSION);
            return;
        }
        if (transfer.export == null || layer < 0 || layer >= geometry.layers() || transfer.layerAnnounced[layer])
        {
            fail(transfer, KvTransferStatus.FAILED_INCOMPATIBLE);
            return;
        }
        transfer.layerAnnounced[layer] = true;
        transfer.layersAnnounced++;
        transfer.announcedCrcs[2 * layer] = ready.crc32cK();
        transfer.announcedCrcs[2 * layer + 1] = ready.crc32cV();
        transfer.lastActivityNs = ctx.nanoClock().nanoTime();
        store.deviceIntake().copyLayer(transfer.reservation, transfer.export, layer);
    }

    /** The sender of transfer {@code requestId} is alive though silent: its silence timeout starts again. */
    void onKeepAlive(final long requestId)
    {
        final InboundTransfer transfer = transfers.get(requestId);
        if (transfer != null)
        {
            transfer.lastActivityNs = ctx.nanoClock().nanoTime();
        }
    }

    void onChunkStart(final ChunkCursor cursor, final int sessionId, final KvChunkDecoder chunk, final int payloadLength)
    {
        cursor.transfer = null;
        cursor.remaining = payloadLength;
        final InboundTransfer transfer = transfers.get(chunk.requestId());
        if (transfer == null)
        {
            return;
        }
        if (transfer.sessionId != sessionId)
        {
            refuse(sessionId, transfer.requestId, KvRefusal.FOREIGN_SESSION); // its payload fragments are skipped
            return;
        }
        final int layer = chunk.layer();
        final short part = chunk.partRaw();
        final int tokenOffset = chunk.tokenOffset();
        final int tokenCount = chunk.tokenCount();
        final boolean inBounds = transfer.export == null &&
            layer >= 0 && layer < geometry.layers() &&
            (part == KvPart.K.value() || part == KvPart.V.value()) &&
            tokenOffset >= 0 && tokenCount > 0 && (long)tokenOffset + tokenCount <= transfer.tokens &&
            payloadLength == geometry.partBytes(tokenCount);
        if (!inBounds)
        {
            fail(transfer, KvTransferStatus.FAILED_INCOMPATIBLE);
            return;
        }
        cursor.transfer = transfer;
        cursor.layer = layer;
        cursor.part = KvPart.get(part);
        cursor.byteOffset = geometry.partBytes(tokenOffset);
        transfer.lastActivityNs = ctx.nanoClock().nanoTime();
    }

    void onChunkPayload(final ChunkCursor cursor, final DirectBuffer buffer, final int index, final int length)
    {
        final int bytes = Math.min(length, cursor.remaining);
        cursor.remaining -= bytes;
        final InboundTransfer transfer = cursor.transfer;
        if (transfer == null || transfer.reservation == null)
        {
            return;
        }
        store.write(transfer.reservation, cursor.layer, cursor.part, cursor.byteOffset, buffer, index, bytes);
        transfer.crcState = Crc32c.update(transfer.crcState, buffer, index, bytes);
        transfer.bytesReceived += bytes;
        cursor.byteOffset += bytes;
    }

    void onEnd(final int sessionId, final KvTransferEndDecoder end)
    {
        final InboundTransfer transfer = transfers.get(end.requestId());
        if (transfer == null)
        {
            return;
        }
        if (transfer.sessionId != sessionId)
        {
            refuse(sessionId, transfer.requestId, KvRefusal.FOREIGN_SESSION);
            return;
        }
        final boolean intact = transfer.export == null ?
            transfer.bytesReceived == transfer.totalBytes && Crc32c.finish(transfer.crcState) == end.crc32c() :
            landedAsAnnounced(transfer, end.crc32c());
        if (!intact)
        {
            fail(transfer, KvTransferStatus.FAILED_CHECKSUM);
            return;
        }
        transfers.remove(transfer.requestId);
        final KvReservation reservation = transfer.reservation;
        transfer.reservation = null;
        listener.onTransferAdmitted(transfer.requestId, reservation, end.firstToken());
        ackProxy.ack(transfer.requestId, KvTransferStatus.OK);
    }

    // GPU path: every layer announced, the announcements as End sums them up, and every part landed as announced
    private boolean landedAsAnnounced(final InboundTransfer transfer, final int endCrc)
    {
        final int parts = 2 * geometry.layers();
        if (transfer.layersAnnounced != geometry.layers() || Crc32c.ofInts(transfer.announcedCrcs, parts) != endCrc)
        {
            return false;
        }
        final int[] landed = new int[parts];
        store.deviceIntake().landedChecksums(transfer.reservation, landed);
        for (int i = 0; i < parts; i++)
        {
            if (landed[i] != transfer.announcedCrcs[i])
            {
                return false;
            }
        }
        return true;
    }

    private int failStalledTransfers(final long nowNs)
    {
        forgetGoneSessions();
        if (transfers.isEmpty())
        {
            return detachGoneArenas();
        }
        for (final InboundTransfer transfer : transfers.values())
        {
            if (nowNs - transfer.lastActivityNs > ctx.transferTimeoutNs())
            {
                failing.add(transfer);
            }
        }
        final int stalled = failing.size();
        failAll(KvTransferStatus.FAILED_TIMEOUT);

        for (final InboundTransfer transfer : transfers.values())
        {
            final Image image = subscription.imageBySessionId(transfer.sessionId);
            if (image == null || image.isClosed())
            {
                failing.add(transfer);
            }
        }
        final int orphaned = failing.size();
        failAll(KvTransferStatus.FAILED_DISCONNECTED);
        return stalled + orphaned + detachGoneArenas();
    }

    // a held Begin or a logged refusal of a session whose image is gone needs no memory any more
    private void forgetGoneSessions()
    {
        if (!heldBeginSinceBySession.isEmpty())
        {
            final Long2LongHashMap.KeyIterator sessions = heldBeginSinceBySession.keySet().iterator();
            while (sessions.hasNext())
            {
                if (isGone((int)sessions.nextValue()))
                {
                    sessions.remove();
                }
            }
        }
        if (!refusalLoggedSessions.isEmpty())
        {
            final IntHashSet.IntIterator sessions = refusalLoggedSessions.iterator();
            while (sessions.hasNext())
            {
                if (isGone((int)sessions.nextValue()))
                {
                    sessions.remove();
                }
            }
        }
    }

    private boolean isGone(final int sessionId)
    {
        final Image image = subscription.imageBySessionId(sessionId);
        return image == null || image.isClosed();
    }

    // after the failures above, no transfer of a closed session is left to read from its arenas
    private int detachGoneArenas()
    {
        if (arenasBySession.isEmpty())
        {
            return 0;
        }
        int detached = 0;
        final Int2ObjectHashMap<LongHashSet>.EntryIterator sessions = arenasBySession.entrySet().iterator();
        while (sessions.hasNext())
        {
            sessions.next();
            final Image image = subscription.imageBySessionId(sessions.getIntKey());
            if (image == null || image.isClosed())
            {
                final LongHashSet.LongIterator arenas = sessions.getValue().iterator();
                while (arenas.hasNext())
                {
                    store.deviceIntake().detach(arenas.nextValue());
                    detached++;
                }
                sessions.remove();
            }
        }
        return detached;
    }

    // transfers are collected first and failed after, so the map is never changed while it is iterated
    private void failAll(final KvTransferStatus status)
    {
        for (int i = 0; i < failing.size(); i++)
        {
            fail(failing.get(i), status);
        }
        failing.clear();
    }

    private void fail(final InboundTransfer transfer, final KvTransferStatus status)
    {
        transfers.remove(transfer.requestId);
        store.release(transfer.reservation);
        transfer.reservation = null;
        reject(transfer.requestId, status);
    }

    private void reject(final long requestId, final KvTransferStatus status)
    {
        ackProxy.ack(requestId, status);
        listener.onTransferFailed(requestId, status);
    }
}
