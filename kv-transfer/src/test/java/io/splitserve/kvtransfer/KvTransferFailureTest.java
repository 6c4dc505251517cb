package io.splitserve.kvtransfer;

import static io.splitserve.kvtransfer.KvTestData.SMALL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.splitserve.sbe.KvChunkEncoder;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferBeginEncoder;
import io.splitserve.sbe.KvTransferEndEncoder;
import io.splitserve.sbe.KvTransferStatus;
import io.splitserve.sbe.MessageHeaderEncoder;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import org.agrona.CloseHelper;
import org.agrona.concurrent.CachedNanoClock;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every failure is explicit and frees everything: rejection for memory, incompatibility, corruption, missing
 * payload, either peer dying or hanging mid-transfer, and back-pressure past the deadline. Each test runs its own
 * sender and receiver, with their own Aeron clients so that one side can be killed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KvTransferFailureTest
{
    private static final long FINGERPRINT = 0x5EED;
    private static final int TOKENS = 100;
    private static final long LEASE_TIMEOUT_NS = TimeUnit.MILLISECONDS.toNanos(1000);
    private static final long TRANSFER_TIMEOUT_NS = TimeUnit.MILLISECONDS.toNanos(400);
    /** A timeout that a manual clock stepping 1 ms per check cannot reach in any run of these tests (30 days). */
    private static final long UNREACHABLE_TIMEOUT_NS = TimeUnit.DAYS.toNanos(30);
    private static final int FIRST_TOKEN_OF_HUNG = 77;

    /** Clocks a test may hand to the sender or the receiver: time then moves only when the test moves it. */
    private final CachedNanoClock senderClock = new CachedNanoClock();
    private final CachedNanoClock receiverClock = new CachedNanoClock();

    private TestMediaDriver driver;
    private int nextStreamId = 3000;
    private Aeron senderAeron;
    private Aeron receiverAeron;
    private KvSender sender;
    private ReceiverThread receiver;
    private final Recorders.Leases leases = new Recorders.Leases();
    private final Recorders.Receipts receipts = new Recorders.Receipts();
    private final UnsafeBuffer source = KvTestData.random(SMALL.totalBytes(TOKENS), 11);

    @BeforeAll
    void launch()
    {
        driver = TestMediaDriver.launch("failures");
    }

    @AfterAll
    void shutdown()
    {
        driver.close();
    }

    @AfterEach
    void closePeers()
    {
        if (receiver != null)
        {
            receiver.close();
        }
        CloseHelper.closeAll(sender, senderAeron, receiverAeron);
        leases.ended.clear();
        receipts.admitted.clear();
        receipts.failed.clear();
        assertEquals(0, leases.duplicates.get() + receipts.duplicates.get(), "an outcome was reported twice");
    }

    private int connect(final KvPageStore store, final long senderFingerprint,
        final String dataChannel, final long offerTimeoutNs)
    {
        return connect(store, senderFingerprint, dataChannel, offerTimeoutNs, senderCtx -> { }, receiverCtx -> { });
    }

    /** Connects a sender and a receiver; the customizers may replace clocks and timeouts (applied last). */
    private int connect(final KvPageStore store, final long senderFingerprint,
        final String dataChannel, final long offerTimeoutNs,
        final Consumer<KvSenderContext> senderSettings, final Consumer<KvReceiverContext> receiverSettings)
    {
        final int streamId = nextStreamId += 2;
        senderAeron = driver.connect();
        receiverAeron = driver.connect();
        final KvSenderContext senderCtx = new KvSenderContext().aeron(senderAeron).modelFingerprint(senderFingerprint)
            .channel(dataChannel).streamId(streamId).ackStreamId(streamId + 1).maxChunkBytes(4096)
            .leaseTimeoutNs(LEASE_TIMEOUT_NS).offerTimeoutNs(offerTimeoutNs).leaseListener(leases);
        senderSettings.accept(senderCtx);
        sender = new KvSender(senderCtx);
        final KvReceiverContext receiverCtx = new KvReceiverContext().aeron(receiverAeron)
            .modelFingerprint(FINGERPRINT).pageStore(store).receiveListener(receipts).channel(dataChannel)
            .streamId(streamId).ackStreamId(streamId + 1).transferTimeoutNs(TRANSFER_TIMEOUT_NS);
        receiverSettings.accept(receiverCtx);
        receiver = new ReceiverThread(new KvReceiver(receiverCtx));
        KvTestData.awaitConnected(sender, receiver.receiver());
        return streamId;
    }

    private int connect(final KvPageStore store)
    {
        return connect(store, FINGERPRINT, "aeron:ipc", TimeUnit.SECONDS.toNanos(1));
    }

    private void awaitLease(final long requestId)
    {
        KvTestData.await(() -> leases.ended.containsKey(requestId), 10_000, "lease of " + requestId, sender::doWork);
    }

    /** A back-pressure idle strategy for a manual clock: every retry the sender waits out moves the clock on. */
    private static final class BackPressureTicks implements IdleStrategy
    {
        private final CachedNanoClock clock;
        private final long tickNs;

        BackPressureTicks(final CachedNanoClock clock, final long tickNs)
        {
            this.clock = clock;
            this.tickNs = tickNs;
        }

        @Override
        public void idle(final int workCount)
        {
            if (workCount <= 0)
            {
                idle();
            }
        }

        @Override
        public void idle()
        {
            clock.advance(tickNs);
        }

        @Override
        public void reset()
        {
        }
    }

    private void sendLayers(final long requestId, final int fromLayer, final int toLayer)
    {
        for (int layer = fromLayer; layer < toLayer; layer++)
        {
            assertTrue(sender.sendLayer(requestId, layer,
                source, KvTestData.partIndex(SMALL, TOKENS, layer, KvPart.K),
                source, KvTestData.partIndex(SMALL, TOKENS, layer, KvPart.V)));
        }
    }

    @Test
    void receiverWithoutMemoryRejectsAtOnceAndReservesNothing()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 4, 16);
        connect(store);
        assertTrue(sender.begin(1, SMALL, TOKENS));
        awaitLease(1);

        assertEquals(KvTransferStatus.REJECTED_NO_MEMORY, leases.ended.get(1L));
        assertEquals(KvTransferStatus.REJECTED_NO_MEMORY, receipts.failed.get(1L));
        assertEquals(4, store.freePages());
        assertFalse(sender.sendLayer(1, 0, source, 0, source, 0), "nothing is sent once the lease has ended");
        assertEquals(0, sender.openTransfers());
    }

    @Test
    void otherModelFingerprintIsIncompatible()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
        connect(store, FINGERPRINT + 1, "aeron:ipc", TimeUnit.SECONDS.toNanos(1));
        assertTrue(sender.begin(2, SMALL, TOKENS));
        awaitLease(2);

        assertEquals(KvTransferStatus.FAILED_INCOMPATIBLE, leases.ended.get(2L));
        assertEquals(KvTransferStatus.FAILED_INCOMPATIBLE, receipts.failed.get(2L));
        assertTrue(receipts.admitted.isEmpty());
        assertEquals(16, store.freePages());
        assertFalse(sender.end(2, 0), "an incompatible transfer cannot be completed");
    }

    @Test
    void otherGeometryIsIncompatible()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
        connect(store);
        assertTrue(sender.begin(3, new KvGeometry(4, 2, 64, KvDtype.F16), TOKENS));
        awaitLease(3);

        assertEquals(KvTransferStatus.FAILED_INCOMPATIBLE, leases.ended.get(3L));
        assertEquals(16, store.freePages());
    }

    /**
     * A transfer that leaves out leading tokens: a store without a prefix cache answers REJECTED_PREFIX_MISSING at
     * Begin (nothing reserved) so the sender can send it whole; the sender refuses to leave them out without token ids
     * (the receiver could not tell which tokens it should hold) or to leave out every row.
     */
    @Test
    void aPrefixTheStoreDoesNotHoldIsRefusedAtOnceAndNothingIsReserved()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
        connect(store);
        final int[] ids = new int[TOKENS];
        assertTrue(sender.begin(8, SMALL, TOKENS, 32, null, ids));
        awaitLease(8);
        assertEquals(KvTransferStatus.REJECTED_PREFIX_MISSING, leases.ended.get(8L));
        // the receiver acks before it records its verdict: wait for the record
        KvTestData.await(() -> receipts.failed.containsKey(8L), 10_000, "the receiver's verdict", Thread::yield);
        assertEquals(KvTransferStatus.REJECTED_PREFIX_MISSING, receipts.failed.get(8L));
        assertEquals(16, store.freePages());

        assertThrows(IllegalArgumentException.class, () -> sender.begin(9, SMALL, TOKENS, 32, null, null));
        assertThrows(IllegalArgumentException.class, () -> sender.begin(9, SMALL, TOKENS, TOKENS, null, ids));
        assertEquals(0, sender.openTransfers());
    }

    @Test
    void endBeforeAllLayersArrivedFailsChecksum()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
        connect(store);
        assertTrue(sender.begin(4, SMALL, TOKENS));
        sendLayers(4, 0, SMALL.layers() - 1);
        assertTrue(sender.end(4, 0));
        awaitLease(4);

        assertEquals(KvTransferStatus.FAILED_CHECKSUM, leases.ended.get(4L));
        assertTrue(receipts.admitted.isEmpty());
        assertEquals(16, store.freePages());
    }

    @Test
    void corruptedPayloadFailsChecksumAndNothingIsAdmitted()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
        final int streamId = connect(store);
        final int tokens = 2;
        final UnsafeBuffer payload = KvTestData.random(SMALL.totalBytes(tokens), 12);
        final CRC32C crc = new CRC32C();
        crc.update(payload.byteBuffer().duplicate());

        // a hand-built stream whose bytes were altered after the checksum was taken, as a faulty link would
        try (ExclusivePublication raw = senderAeron.addExclusivePublication("aeron:ipc", streamId))
        {
            KvTestData.await(raw::isConnected, 5_000, "raw publication", Thread::yield);
            final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(payload.capacity() + 128));
            final MessageHeaderEncoder header = new MessageHeaderEncoder();
            final KvTransferBeginEncoder begin = new KvTransferBeginEncoder().wrapAndApplyHeader(message, 0, header)
                .requestId(5).modelFingerprint(FINGERPRINT).layers(SMALL.layers()).tokens(tokens)
                .kvHeads(SMALL.kvHeads()).headDim(SMALL.headDim()).dtype(SMALL.dtype()).totalBytes(SMALL.totalBytes(tokens));
            offer(raw, message, MessageHeaderEncoder.ENCODED_LENGTH + begin.encodedLength());

            final int partBytes = (int)SMALL.partBytes(tokens);
            payload.putByte(partBytes + 17, (byte)~payload.getByte(partBytes + 17));
            for (int layer = 0; layer < SMALL.layers(); layer++)
            {
                for (final KvPart part : new KvPart[] {KvPart.K, KvPart.V})
                {
                    final KvChunkEncoder chunk = new KvChunkEncoder().wrapAndApplyHeader(message, 0, header)
                        .requestId(5).layer(layer).part(part).tokenOffset(0).tokenCount(tokens)
                        .putPayload(payload, KvTestData.partIndex(SMALL, tokens, layer, part), partBytes);
                    offer(raw, message, MessageHeaderEncoder.ENCODED_LENGTH + chunk.encodedLength());
                }
            }
            final KvTransferEndEncoder end = new KvTransferEndEncoder().wrapAndApplyHeader(message, 0, header)
                .requestId(5).crc32c((int)crc.getValue()).firstToken(1);
            offer(raw, message, MessageHeaderEncoder.ENCODED_LENGTH + end.encodedLength());

            KvTestData.await(() -> receipts.failed.containsKey(5L), 5_000, "verdict on the corrupted transfer", Thread::yield);
        }
        assertEquals(KvTransferStatus.FAILED_CHECKSUM, receipts.failed.get(5L));
        assertTrue(receipts.admitted.isEmpty());
        assertEquals(16, store.freePages());
    }

    @Test
    void receiverKilledMidTransferEndsTheSendersLeaseWithoutWaitingForItsTimeout()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
        connect(store, FINGERPRINT, "aeron:ipc", TimeUnit.SECONDS.toNanos(1),
            senderCtx -> senderCtx.nanoClock(senderClock).leaseTimeoutNs(UNREACHABLE_TIMEOUT_NS), receiverCtx -> { });
        assertTrue(sender.begin(6, SMALL, TOKENS));
        sendLayers(6, 0, 2);
        receiver.halt();
        receiver = null;
        receiverAeron.close(); // the process is gone: no ack, no clean close of the receiver

        // the sender's clock moves one lease check per duty cycle and cannot reach the (long) lease timeout in any
        // run of this test, so the lease can only end because the sender saw its receiver go away
        KvTestData.await(() -> leases.ended.containsKey(6L), 10_000, "lease of 6", () ->
        {
            senderClock.advance(TimeUnit.MILLISECONDS.toNanos(1));
            sender.doWork();
        });
        assertEquals(KvTransferStatus.FAILED_DISCONNECTED, leases.ended.get(6L), "ended by the disconnect");
        assertEquals(0, sender.openTransfers());
    }

    @Test
    void receiverHungBeforeItsAckEndsTheSendersLeaseAtTheTimeout()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
        connect(store, FINGERPRINT, "aeron:ipc", TimeUnit.SECONDS.toNanos(1),
            senderCtx -> senderCtx.nanoClock(senderClock), receiverCtx -> { });
        assertTrue(sender.begin(7, SMALL, TOKENS));
        receiver.halt(); // still connected, never answers
        sendLayers(7, 0, SMALL.layers());
        assertTrue(sender.end(7, FIRST_TOKEN_OF_HUNG)); // the lease now runs to the sender's clock + LEASE_TIMEOUT_NS

        senderClock.advance(LEASE_TIMEOUT_NS); // exactly at the deadline: not yet over
        sender.doWork();
        assertFalse(leases.ended.containsKey(7L), "the lease ended before its timeout: " + leases.ended.get(7L));
        senderClock.advance(LEASE_TIMEOUT_NS); // well past it (and past the next lease check)
        sender.doWork();
        assertEquals(KvTransferStatus.FAILED_TIMEOUT, leases.ended.get(7L), "the lease ends once its timeout passed");
        receiver.receiver().close();
        receiver = null;
        assertEquals(16, store.freePages(), "closing the receiver releases what it reserved");
    }

    @Test
    void senderKilledMidTransferFreesTheReservationWithoutWaitingForTheReceiversTimeout()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
        connect(store, FINGERPRINT, "aeron:ipc", TimeUnit.SECONDS.toNanos(1), senderCtx -> { },
            receiverCtx -> receiverCtx.nanoClock(receiverClock).transferTimeoutNs(UNREACHABLE_TIMEOUT_NS));
        assertTrue(sender.begin(8, SMALL, TOKENS));
        sendLayers(8, 0, 2);
        KvTestData.await(() -> store.freePages() < 16, 5_000, "the reservation", Thread::yield);
        senderAeron.close(); // the prefill process is gone
        sender = null;

        // the receiver's clock moves one stall check per wait here and cannot reach its (long) transfer timeout, so
        // the transfer can only fail because the receiver saw its sender go away
        KvTestData.await(() -> receipts.failed.containsKey(8L), 10_000, "the receiver to give up",
            () -> receiverClock.advance(TimeUnit.MILLISECONDS.toNanos(1)));
        assertEquals(KvTransferStatus.FAILED_DISCONNECTED, receipts.failed.get(8L), "failed by the disconnect");
        assertEquals(16, store.freePages());
        assertEquals(0, receiver.receiver().openTransfers());
    }

    @Test
    void backPressurePastTheOfferDeadlineFailsTheTransfer()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
        // a 64 KiB term: the hung receiver's window fills after a few chunks
        // each back-pressured retry moves the sender's clock by 1 ms, so the offer deadline is reached in clock time
        final long offerTimeoutNs = TimeUnit.MILLISECONDS.toNanos(200);
        connect(store, FINGERPRINT, "aeron:ipc?term-length=64k", offerTimeoutNs,
            senderCtx -> senderCtx.nanoClock(senderClock)
                .backPressureIdleStrategy(new BackPressureTicks(senderClock, TimeUnit.MILLISECONDS.toNanos(1))),
            receiverCtx -> { });
        assertTrue(sender.begin(9, SMALL, TOKENS));
        receiver.halt();
        final long start = senderClock.nanoTime();
        boolean sent = true;
        for (int layer = 0; layer < SMALL.layers() && sent; layer++)
        {
            sent = sender.sendLayer(9, layer, source, KvTestData.partIndex(SMALL, TOKENS, layer, KvPart.K),
                source, KvTestData.partIndex(SMALL, TOKENS, layer, KvPart.V));
        }
        assertFalse(sent, "a stream that stays back-pressured must fail");
        final long waited = senderClock.nanoTime() - start;
        assertTrue(waited > offerTimeoutNs, "failed before the offer deadline, after " + waited + " ns");
        assertTrue(waited <= offerTimeoutNs + TimeUnit.MILLISECONDS.toNanos(2), "kept retrying past the deadline: "
            + waited + " ns");
        assertEquals(KvTransferStatus.FAILED_TIMEOUT, leases.ended.get(9L));
        assertEquals(0, sender.openTransfers());
        receiver.receiver().close();
        receiver = null;
        assertEquals(16, store.freePages());
    }

    @Test
    void misconfigurationFailsAtConstructionWithAOneLineReason()
    {
        senderAeron = driver.connect();
        final IllegalStateException tooBig = assertThrows(IllegalStateException.class, () -> new KvSender(
            new KvSenderContext().aeron(senderAeron).channel("aeron:ipc?term-length=64k").leaseListener(leases)));
        assertEquals("KV chunks of 1048576 bytes exceed the max message length 8192 of aeron:ipc?term-length=64k " +
            "(term length / 8): lower maxChunkBytes or raise term-length", tooBig.getMessage());
        final IllegalStateException noListener = assertThrows(IllegalStateException.class,
            () -> new KvSender(new KvSenderContext().aeron(senderAeron)));
        assertEquals("KV sender needs a lease listener to release KV when a lease ends", noListener.getMessage());
        final IllegalStateException noStore = assertThrows(IllegalStateException.class,
            () -> new KvReceiver(new KvReceiverContext().aeron(senderAeron).receiveListener(receipts)));
        assertEquals("KV receiver needs a page store to scatter into", noStore.getMessage());
    }

    private static void offer(final ExclusivePublication publication, final UnsafeBuffer buffer, final int length)
    {
        KvTestData.await(() -> publication.offer(buffer, 0, length) > 0, 5_000, "offer", Thread::yield);
    }
}
