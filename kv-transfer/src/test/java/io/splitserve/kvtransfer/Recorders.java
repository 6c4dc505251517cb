package io.splitserve.kvtransfer;

import io.splitserve.sbe.KvTransferStatus;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Listeners that record every outcome and count any that is reported twice, for assertions from the test thread. */
final class Recorders
{
    private Recorders()
    {
    }

    static final class Leases implements KvLeaseListener
    {
        final Map<Long, KvTransferStatus> ended = new ConcurrentHashMap<>();
        final AtomicInteger duplicates = new AtomicInteger();

        @Override
        public void onLeaseEnded(final long requestId, final KvTransferStatus status)
        {
            if (ended.put(requestId, status) != null)
            {
                duplicates.incrementAndGet();
            }
        }
    }

    static final class Receipts implements KvReceiveListener
    {
        final Map<Long, KvReservation> admitted = new ConcurrentHashMap<>();
        final Map<Long, Integer> firstTokens = new ConcurrentHashMap<>();
        final Map<Long, KvTransferStatus> failed = new ConcurrentHashMap<>();
        final AtomicInteger duplicates = new AtomicInteger();

        @Override
        public void onTransferAdmitted(final long requestId, final KvReservation reservation, final int firstToken)
        {
            firstTokens.put(requestId, firstToken);
            if (admitted.put(requestId, reservation) != null || failed.containsKey(requestId))
            {
                duplicates.incrementAndGet();
            }
        }

        @Override
        public void onTransferFailed(final long requestId, final KvTransferStatus status)
        {
            if (failed.put(requestId, status) != null || admitted.containsKey(requestId))
            {
                duplicates.incrementAndGet();
            }
        }
    }
}
