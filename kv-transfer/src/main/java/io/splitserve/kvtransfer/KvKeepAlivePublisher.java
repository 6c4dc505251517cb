package io.splitserve.kvtransfer;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.splitserve.sbe.KvKeepAliveEncoder;
import io.splitserve.sbe.MessageHeaderEncoder;
import java.nio.ByteBuffer;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Keeps a {@link KvSender}'s open transfers audible while the sender's owner computes: each call publishes one
 * KvKeepAlive naming the transfers the sender last reported open ({@link KvSender#openRequestIds()}), so the receiver's
 * silence timeout never runs out during a long layer. It exists apart from the sender because the sender's thread is
 * the one that computes: this publisher is owned by the node's liveness thread, on an Aeron publication of its own to
 * the sender's data channel and stream (a second session, so it never shares the sender's exclusive publication).
 * It guarantees only that a live process speaks for its open transfers; a dead process's keep-alives stop with it,
 * and its data stream's image closes, so its receiver still fails those transfers.
 *
 * <p>Not thread-safe: one thread (the liveness thread) calls {@link #keepAlive()} and {@link #close()}. A keep-alive
 * that finds the stream back-pressured or unconnected is skipped, never waited for: the next one follows an interval
 * later, well within the receiver's timeout.
 */
public final class KvKeepAlivePublisher implements AutoCloseable
{
    /** Request ids named per message at most, so one keep-alive always fits one frame of the smallest MTU. */
    static final int MAX_IDS_PER_MESSAGE = 128;

    private final KvSender sender;
    private final ExclusivePublication publication;
    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(
        MessageHeaderEncoder.ENCODED_LENGTH + KvKeepAliveEncoder.BLOCK_LENGTH + 4 + 8 * MAX_IDS_PER_MESSAGE));
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final KvKeepAliveEncoder encoder = new KvKeepAliveEncoder();

    /** Adds this publisher's own publication to the data stream of {@code sender}. */
    public KvKeepAlivePublisher(final Aeron aeron, final KvSender sender)
    {
        this.sender = sender;
        this.publication = aeron.addExclusivePublication(sender.channel(), sender.streamId());
    }

    /** Publishes keep-alives for every transfer the sender reports open; returns how many ids went out. */
    public int keepAlive()
    {
        final long[] ids = sender.openRequestIds();
        int sent = 0;
        for (int from = 0; from < ids.length; from += MAX_IDS_PER_MESSAGE)
        {
            final int count = Math.min(MAX_IDS_PER_MESSAGE, ids.length - from);
            final KvKeepAliveEncoder.TransfersEncoder transfers =
                encoder.wrapAndApplyHeader(buffer, 0, header).transfersCount(count);
            for (int i = 0; i < count; i++)
            {
                transfers.next().requestId(ids[from + i]);
            }
            if (publication.offer(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + encoder.encodedLength()) > 0)
            {
                sent += count;
            }
        }
        return sent;
    }

    @Override
    public void close()
    {
        CloseHelper.close(publication);
    }
}
