package io.splitserve.kvtransfer;

/**
 * Receiver-side state of one transfer between Begin and its verdict: the pages reserved for it, the publication
 * session it must come from, the running checksum and byte count of what arrived, and when it last heard from it.
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

    InboundTransfer(
        final long requestId, final int sessionId, final KvReservation reservation, final long totalBytes, final long nowNs)
    {
        this.requestId = requestId;
        this.sessionId = sessionId;
        this.tokens = reservation.tokens();
        this.reservation = reservation;
        this.totalBytes = totalBytes;
        this.lastActivityNs = nowNs;
    }
}
