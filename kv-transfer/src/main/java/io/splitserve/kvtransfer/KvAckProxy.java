package io.splitserve.kvtransfer;

import io.aeron.Publication;
import io.splitserve.sbe.KvTransferAckEncoder;
import io.splitserve.sbe.KvTransferStatus;
import io.splitserve.sbe.MessageHeaderEncoder;
import java.nio.ByteBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Publishes the receiver's verdicts. An ack is tiny, so back-pressure is retried only briefly; an ack that cannot
 * go out (peer gone, or back-pressured past the deadline) is dropped, and the sender's lease timeout then ends
 * the transfer on its side.
 */
final class KvAckProxy
{
    private final Publication publication;
    private final IdleStrategy idleStrategy;
    private final NanoClock nanoClock;
    private final long offerTimeoutNs;
    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
    private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
    private final KvTransferAckEncoder ackEncoder = new KvTransferAckEncoder();

    KvAckProxy(final Publication publication, final IdleStrategy idleStrategy, final NanoClock nanoClock, final long offerTimeoutNs)
    {
        this.publication = publication;
        this.idleStrategy = idleStrategy;
        this.nanoClock = nanoClock;
        this.offerTimeoutNs = offerTimeoutNs;
    }

    /** @return true when the ack was published. */
    boolean ack(final long requestId, final KvTransferStatus status)
    {
        ackEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder).requestId(requestId).status(status);
        final int length = MessageHeaderEncoder.ENCODED_LENGTH + ackEncoder.encodedLength();
        final long deadlineNs = nanoClock.nanoTime() + offerTimeoutNs;
        idleStrategy.reset();
        while (true)
        {
            final long result = publication.offer(buffer, 0, length);
            if (result > 0)
            {
                return true;
            }
            if ((result != Publication.BACK_PRESSURED && result != Publication.ADMIN_ACTION) ||
                nanoClock.nanoTime() - deadlineNs > 0)
            {
                return false;
            }
            idleStrategy.idle();
        }
    }
}
