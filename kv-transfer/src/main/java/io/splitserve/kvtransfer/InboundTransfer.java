package io.splitserve.kvtransfer;

/**
 * Receiver-side state of one transfer between Begin and its verdict: the pages reserved for it, the publication
 * session it must come from, the running checksum and byte count of what arrived (host path) or the layers announced
 * and their checksums (GPU path), and when it last heard from it.
 * {@link #reservation} is null once the verdict is given, so late fragments can never write into pages that
 * were released or handed over.
 */
final class InboundTransfer
{
    final long requestId;
    final int sessionId;
    final int tokens;
    final long totalBytes;
    KvReservation reservation;
    int crcState = Crc32c.INITIAL;
    long bytesReceived;
    long lastActivityNs;
    /** GPU path: where the sender's KV lies, each layer part's announced CRC32C, and which layers were announced. */
    final GpuKvExport export;
    final int[] announcedCrcs;
    final boolean[] layerAnnounced;
    int layersAnnounced;

    InboundTransfer(
        final long requestId, final int sessionId, final KvReservation reservation, final long totalBytes, final long nowNs)
    {
        this(requestId, sessionId, reservation, totalBytes, nowNs, null, 0);
    }

    InboundTransfer(
        final long requestId,
        final int sessionId,
        final KvReservation reservation,
        final long totalBytes,
        final long nowNs,
        final GpuKvExport export,
        final int layers)
    {
        this.export = export;
        this.announcedCrcs = export == null ? null : new int[2 * layers];
        this.layerAnnounced = export == null ? null : new boolean[layers];
        this.requestId = requestId;
        this.sessionId = sessionId;
        this.tokens = reservation.tokens();
        this.reservation = reservation;
        this.totalBytes = totalBytes;
        this.lastActivityNs = nowNs;
    }
}
