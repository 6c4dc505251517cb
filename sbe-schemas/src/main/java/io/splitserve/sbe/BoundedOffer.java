package io.splitserve.sbe;

import io.aeron.Publication;
import org.agrona.DirectBuffer;

/**
 * Sends one encoded control message on an Aeron publication, retrying back-pressure and admin actions by spinning
 * until a deadline, never longer: the agents that send control messages must not stall their duty cycle for a
 * slow or absent peer. A peer that is not connected, a closed publication or a full log fail at once.
 */
public final class BoundedOffer {
    private BoundedOffer() {}

    /** True when the message was published; false when the peer is gone or the deadline passed first. */
    public static boolean offer(Publication publication, DirectBuffer buffer, int length, long timeoutNs) {
        final long deadline = System.nanoTime() + timeoutNs;
        while (true) {
            final long result = publication.offer(buffer, 0, length);
            if (result > 0) {
                return true;
            }
            if (result == Publication.NOT_CONNECTED || result == Publication.CLOSED
                    || result == Publication.MAX_POSITION_EXCEEDED || System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.onSpinWait();
        }
    }
}
