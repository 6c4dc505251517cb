package io.splitserve.perf.kv;

import io.aeron.Aeron;
import io.splitserve.kvtransfer.HostKvPageStore;
import io.splitserve.kvtransfer.KvGeometry;
import io.splitserve.kvtransfer.KvReceiveListener;
import io.splitserve.kvtransfer.KvReceiver;
import io.splitserve.kvtransfer.KvReceiverContext;
import io.splitserve.kvtransfer.KvReservation;
import io.splitserve.kvtransfer.KvSender;
import io.splitserve.kvtransfer.KvSenderContext;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferStatus;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One prefill-to-decode KV link under measurement: a sender driven by the calling thread and a receiver agent on
 * its own thread, over one pair of channels, scattering into a host page store. The receiver hands each admitted
 * reservation straight back to the store, so transfers can repeat indefinitely. A transfer's time runs from
 * Begin to the sender learning the receiver's verdict, i.e. what a prefill node waits before its KV is free.
 * The CPU time each side's thread spent on the last transfer is kept too; both sides park rather than spin when
 * idle (back-off idle strategies), so that CPU time is close to the work itself.
 */
final class KvLink implements AutoCloseable
{
    private final KvGeometry geometry;
    private final KvSender sender;
    private final KvReceiver receiver;
    private final Thread receiverThread;
    // waiting for the ack parks briefly instead of spinning: on few cores a spinning sender takes CPU from the
    // receiver and the driver while they drain the transfer's tail
    private final IdleStrategy ackIdle = new BackoffIdleStrategy(10, 10, 1_000, 50_000);
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private volatile boolean running = true;
    private KvTransferStatus lastStatus;
    private long lastSenderCpuNs;
    private long lastReceiverCpuNs;

    KvLink(final Aeron aeron, final String dataChannel, final String ackChannel, final int streamId,
        final KvGeometry geometry, final int maxTokens, final int pageSize)
    {
        this.geometry = geometry;
        final HostKvPageStore store = HostKvPageStore.allocate(geometry, (maxTokens + pageSize - 1) / pageSize, pageSize);
        sender = new KvSender(new KvSenderContext().aeron(aeron).channel(dataChannel).streamId(streamId)
            .ackChannel(ackChannel).ackStreamId(streamId + 1).modelFingerprint(1)
            .backPressureIdleStrategy(new BackoffIdleStrategy())
            .leaseListener((requestId, status) -> lastStatus = status));
        receiver = new KvReceiver(new KvReceiverContext().aeron(aeron).channel(dataChannel).streamId(streamId)
            .ackChannel(ackChannel).ackStreamId(streamId + 1).modelFingerprint(1).pageStore(store)
            .receiveListener(new KvReceiveListener()
            {
                @Override
                public void onTransferAdmitted(final long requestId, final KvReservation reservation, final int firstToken)
                {
                    store.release(reservation);
                }

                @Override
                public void onTransferFailed(final long requestId, final KvTransferStatus status)
                {
                    // the sender sees the same verdict in its lease and reports it
                }
            }));
        receiverThread = new Thread(this::runReceiver, "kv-receiver");
        receiverThread.setDaemon(true);
        receiverThread.start();
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (!(sender.isConnected() && receiver.isConnected()))
        {
            if (System.nanoTime() - deadline > 0)
            {
                throw new IllegalStateException("KV link on " + dataChannel + " did not connect within 10 s");
            }
            Thread.yield();
        }
    }

    private void runReceiver()
    {
        final IdleStrategy idle = new BackoffIdleStrategy();
        while (running)
        {
            idle.idle(receiver.doWork());
        }
    }

    /**
     * Streams {@code tokens} tokens of KV from {@code source} (per layer K then V, each [tokens][kvHeads][headDim]) and
     * waits for the verdict.
     *
     * @return nanoseconds from Begin to the ack.
     * @throws IllegalStateException when the transfer does not end OK.
     */
    long transfer(final long requestId, final int tokens, final UnsafeBuffer source)
    {
        lastStatus = null;
        final long senderCpuStart = threads.getCurrentThreadCpuTime();
        final long receiverCpuStart = threads.getThreadCpuTime(receiverThread.getId());
        final long start = System.nanoTime();
        boolean sent = sender.begin(requestId, geometry, tokens);
        for (int layer = 0; layer < geometry.layers() && sent; layer++)
        {
            final int k = (int)((2L * layer + KvPart.K.value()) * geometry.partBytes(tokens));
            final int v = (int)((2L * layer + KvPart.V.value()) * geometry.partBytes(tokens));
            sent = sender.sendLayer(requestId, layer, source, k, source, v);
        }
        if (sent)
        {
            sender.end(requestId, 0);
        }
        ackIdle.reset();
        while (lastStatus == null)
        {
            ackIdle.idle(sender.doWork());
        }
        final long elapsed = System.nanoTime() - start;
        lastSenderCpuNs = threads.getCurrentThreadCpuTime() - senderCpuStart;
        lastReceiverCpuNs = threads.getThreadCpuTime(receiverThread.getId()) - receiverCpuStart;
        if (lastStatus != KvTransferStatus.OK)
        {
            throw new IllegalStateException("transfer " + requestId + " ended " + lastStatus);
        }
        return elapsed;
    }

    /** CPU time of the sending thread during the last transfer, including its wait for the ack. */
    long lastSenderCpuNs()
    {
        return lastSenderCpuNs;
    }

    /** CPU time of the receiver's thread during the last transfer. */
    long lastReceiverCpuNs()
    {
        return lastReceiverCpuNs;
    }

    @Override
    public void close()
    {
        running = false;
        try
        {
            receiverThread.join(5_000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        receiver.close();
        sender.close();
    }
}
