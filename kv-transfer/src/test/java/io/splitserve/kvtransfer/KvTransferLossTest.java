package io.splitserve.kvtransfer;

import static io.splitserve.kvtransfer.KvTestData.LLAMA3_8B;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aeron.Aeron;
import io.aeron.driver.ext.DebugReceiveChannelEndpoint;
import io.aeron.driver.ext.LossGenerator;
import io.aeron.driver.ext.RandomLossGenerator;
import io.splitserve.sbe.KvTransferStatus;
import java.util.concurrent.atomic.AtomicLong;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * Over UDP with 5% of data frames dropped on receipt (Aeron's debug receive endpoint), NAKs and retransmission
 * still deliver every byte: several transfers complete, verify and arrive byte-exact.
 */
class KvTransferLossTest
{
    private static final double LOSS_RATE = 0.05;

    @Test
    void transfersCompleteAndVerifyDespiteFivePercentFrameLoss()
    {
        final AtomicLong dropped = new AtomicLong();
        final LossGenerator dataLoss = new LossGenerator()
        {
            private final RandomLossGenerator random = new RandomLossGenerator(LOSS_RATE, 17);

            @Override
            public boolean shouldDropFrame(final java.net.InetSocketAddress address, final UnsafeBuffer buffer, final int length)
            {
                final boolean drop = random.shouldDropFrame(address, buffer, length);
                if (drop)
                {
                    dropped.incrementAndGet();
                }
                return drop;
            }
        };
        final LossGenerator noLoss = (address, buffer, length) -> false;
        final int tokens = 32; // 4 MiB per transfer
        final HostKvPageStore store = HostKvPageStore.allocate(LLAMA3_8B, 3 * 3, 13);
        final Recorders.Leases leases = new Recorders.Leases();
        final Recorders.Receipts receipts = new Recorders.Receipts();

        try (TestMediaDriver driver = TestMediaDriver.launch("loss", ctx -> ctx.receiveChannelEndpointSupplier(
            (channel, dispatcher, status, context) ->
                new DebugReceiveChannelEndpoint(channel, dispatcher, status, context, dataLoss, noLoss))))
        {
            final Aeron aeron = driver.connect();
            try (KvSender sender = new KvSender(new KvSenderContext().aeron(aeron).modelFingerprint(1)
                    .channel("aeron:udp?endpoint=localhost:42301").ackChannel("aeron:udp?endpoint=localhost:42302")
                    .leaseListener(leases));
                ReceiverThread receiver = new ReceiverThread(new KvReceiver(new KvReceiverContext().aeron(aeron)
                    .modelFingerprint(1).pageStore(store).receiveListener(receipts)
                    .channel("aeron:udp?endpoint=localhost:42301").ackChannel("aeron:udp?endpoint=localhost:42302"))))
            {
                KvTestData.awaitConnected(sender, receiver.receiver());
                final UnsafeBuffer[] sources = new UnsafeBuffer[3];
                for (int i = 0; i < sources.length; i++)
                {
                    sources[i] = KvTestData.random(LLAMA3_8B.totalBytes(tokens), 40 + i);
                    KvTestData.sendAll(sender, i, LLAMA3_8B, tokens, sources[i], i);
                }
                KvTestData.await(() -> leases.ended.size() == sources.length, 60_000, "acks through a lossy link",
                    sender::doWork);

                for (int i = 0; i < sources.length; i++)
                {
                    assertEquals(KvTransferStatus.OK, leases.ended.get((long)i), "transfer " + i);
                    KvTestData.assertStored(store, receipts.admitted.get((long)i), LLAMA3_8B, tokens, sources[i]);
                    store.release(receipts.admitted.get((long)i));
                }
                assertEquals(store.pageCount(), store.freePages());
            }
        }
        assertTrue(dropped.get() > 100, "the link really lost frames: " + dropped.get());
    }
}
