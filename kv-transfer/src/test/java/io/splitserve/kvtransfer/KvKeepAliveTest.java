package io.splitserve.kvtransfer;

import static io.splitserve.kvtransfer.KvTestData.SMALL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aeron.Aeron;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferStatus;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.concurrent.CachedNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A transfer stays open while its sender computes, however long: the receiver's timeout counts silence only, and
 * keep-alives from the sender's liveness publication (a session other than the data's) break the silence. Without
 * them the transfer fails once the silence passes the timeout. Sender and receiver are stepped on the test's thread,
 * and the receiver's clock moves only when the test moves it.
 */
class KvKeepAliveTest
{
    private static final long FINGERPRINT = 0x5EED;
    private static final int TOKENS = 100;
    private static final long TIMEOUT_NS = KvReceiverContext.DEFAULT_TRANSFER_TIMEOUT_NS;

    private final CachedNanoClock receiverClock = new CachedNanoClock();
    private final Recorders.Leases leases = new Recorders.Leases();
    private final Recorders.Receipts receipts = new Recorders.Receipts();
    private final UnsafeBuffer source = KvTestData.random(SMALL.totalBytes(TOKENS), 5);
    private final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
    private TestMediaDriver driver;
    private Aeron aeron;
    private KvSender sender;
    private KvReceiver receiver;
    private KvKeepAlivePublisher keepAlives;

    @BeforeEach
    void connect()
    {
        driver = TestMediaDriver.launch("keep-alive");
        aeron = driver.connect();
        sender = new KvSender(new KvSenderContext().aeron(aeron).modelFingerprint(FINGERPRINT).channel("aeron:ipc")
            .streamId(3900).ackStreamId(3901).maxChunkBytes(4096).leaseListener(leases));
        receiver = new KvReceiver(new KvReceiverContext().aeron(aeron).modelFingerprint(FINGERPRINT).pageStore(store)
            .receiveListener(receipts).channel("aeron:ipc").streamId(3900).ackStreamId(3901).nanoClock(receiverClock));
        keepAlives = new KvKeepAlivePublisher(aeron, sender);
        KvTestData.awaitConnected(sender, receiver);
        assertTrue(sender.begin(1, SMALL, TOKENS));
        sendLayer(0);
        KvTestData.await(() -> receiver.openTransfers() == 1 && store.freePages() < 16, 10_000, "the Begin", receiver::doWork);
        // the keep-alive session's image joins the receiver's subscription before any clock moves
        KvTestData.await(() -> keepAlives.keepAlive() == 1 && receiver.doWork() > 0, 10_000, "a keep-alive", Thread::yield);
        // keep-alives offered while waiting may still be unread: read them all now, so none lands after a test moves
        // the clock (it would count as fresh activity then)
        while (receiver.doWork() > 0)
        {
            Thread.onSpinWait();
        }
    }

    @AfterEach
    void close()
    {
        CloseHelper.closeAll(keepAlives, receiver, sender, aeron, driver);
    }

    @Test
    void keepAlivesHoldATransferOpenThroughSilenceLongerThanTheTimeoutAndItStillCompletes()
    {
        for (int second = 1; second <= 5; second++) // 5 s without a byte of KV, 2.5 timeouts
        {
            receiverClock.advance(TimeUnit.SECONDS.toNanos(1));
            KvTestData.await(() -> keepAlives.keepAlive() == 1 && receiver.doWork() > 0, 10_000, "a keep-alive", Thread::yield);
            assertFalse(receipts.failed.containsKey(1L), "failed after " + second + " s of keep-alives: " + receipts.failed);
        }
        for (int layer = 1; layer < SMALL.layers(); layer++)
        {
            sendLayer(layer);
        }
        assertTrue(sender.end(1, 7));
        KvTestData.await(() -> receipts.admitted.containsKey(1L), 10_000, "admission", receiver::doWork);
        KvTestData.await(() -> leases.ended.containsKey(1L), 10_000, "the ack", sender::doWork);
        assertEquals(KvTransferStatus.OK, leases.ended.get(1L));
    }

    @Test
    void silencePastTheTimeoutWithoutKeepAlivesFailsTheTransferAndFreesItsPages()
    {
        receiverClock.advance(TIMEOUT_NS); // exactly the timeout: not yet past it
        receiver.doWork();
        assertFalse(receipts.failed.containsKey(1L), "failed at the timeout itself");
        receiverClock.advance(TimeUnit.MILLISECONDS.toNanos(2));
        receiver.doWork();
        assertEquals(KvTransferStatus.FAILED_TIMEOUT, receipts.failed.get(1L));
        assertEquals(16, store.freePages());
        KvTestData.await(() -> leases.ended.containsKey(1L), 10_000, "the sender to hear", sender::doWork);
        assertEquals(KvTransferStatus.FAILED_TIMEOUT, leases.ended.get(1L));
    }

    @Test
    void aTransferNotYetEndedKeepsItsLeaseWhileItsSenderComputes()
    {
        final CachedNanoClock senderClock = new CachedNanoClock();
        CloseHelper.close(sender); // ends lease 1
        sender = new KvSender(new KvSenderContext().aeron(aeron).modelFingerprint(FINGERPRINT).channel("aeron:ipc")
            .streamId(3900).ackStreamId(3901).maxChunkBytes(4096).leaseListener(leases).nanoClock(senderClock));
        KvTestData.awaitConnected(sender, receiver);
        assertTrue(sender.begin(2, SMALL, TOKENS));
        senderClock.advance(10 * KvSenderContext.DEFAULT_LEASE_TIMEOUT_NS); // one very long layer
        sender.doWork();
        assertFalse(leases.ended.containsKey(2L), "the lease of a transfer still computing ended: " + leases.ended);
        assertTrue(sender.sendLayer(2, 0, source, KvTestData.partIndex(SMALL, TOKENS, 0, KvPart.K),
            source, KvTestData.partIndex(SMALL, TOKENS, 0, KvPart.V)));
    }

    private void sendLayer(final int layer)
    {
        assertTrue(sender.sendLayer(1, layer, source, KvTestData.partIndex(SMALL, TOKENS, layer, KvPart.K),
            source, KvTestData.partIndex(SMALL, TOKENS, layer, KvPart.V)));
    }
}
