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
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.agrona.CloseHelper;
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
        final int streamId = nextStreamId += 2;
        senderAeron = driver.connect();
        receiverAeron = driver.connect();
        sender = new KvSender(new KvSenderContext().aeron(senderAeron).modelFingerprint(senderFingerprint)
            .channel(dataChannel).streamId(streamId).ackStreamId(streamId + 1).maxChunkBytes(4096)
            .leaseTimeoutNs(LEASE_TIMEOUT_NS).offerTimeoutNs(offerTimeoutNs).leaseListener(leases));
        receiver = new ReceiverThread(new KvReceiver(new KvReceiverContext().aeron(receiverAeron)
            .modelFingerprint(FINGERPRINT).pageStore(store).receiveListener(receipts).channel(dataChannel)
            .streamId(streamId).ackStreamId(streamId + 1).transferTimeoutNs(TRANSFER_TIMEOUT_NS)));
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
    void receiverKilledMidTransferEndsTheSendersLeaseWithinItsTimeout()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
        connect(store);
        assertTrue(sender.begin(6, SMALL, TOKENS));
        sendLayers(6, 0, 2);
        final long killedAt = System.nanoTime();
        receiver.halt();
        receiver = null;
        receiverAeron.close(); // the process is gone: no ack, no clean close of the receiver

        awaitLease(6);
        assertTrue(System.nanoTime() - killedAt < LEASE_TIMEOUT_NS + TimeUnit.MILLISECONDS.toNanos(500),
            "the lease must end within its timeout");
        assertTrue(Set.of(KvTransferStatus.FAILED_DISCONNECTED, KvTransferStatus.FAILED_TIMEOUT)
            .contains(leases.ended.get(6L)), "lease ended with " + leases.ended.get(6L));
        assertEquals(0, sender.openTransfers());
    }

    @Test
    void receiverHungMidTransferEndsTheSendersLeaseAtTheTimeout()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
        connect(store);
        assertTrue(sender.begin(7, SMALL, TOKENS));
        sendLayers(7, 0, 2);
        final long lastSendAt = System.nanoTime();
        receiver.halt(); // still connected, never answers

        awaitLease(7);
        final long waited = System.nanoTime() - lastSendAt;
        assertEquals(KvTransferStatus.FAILED_TIMEOUT, leases.ended.get(7L));
        assertTrue(waited >= LEASE_TIMEOUT_NS - TimeUnit.MILLISECONDS.toNanos(50), "lease ended early: " + waited + " ns");
        assertTrue(waited < LEASE_TIMEOUT_NS + TimeUnit.MILLISECONDS.toNanos(500), "lease ended late: " + waited + " ns");
        receiver.receiver().close();
        receiver = null;
        assertEquals(16, store.freePages(), "closing the receiver releases what it reserved");
    }

    @Test
    void senderKilledMidTransferFreesTheReservationWithinTheReceiversTimeout()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
        connect(store);
        assertTrue(sender.begin(8, SMALL, TOKENS));
        sendLayers(8, 0, 2);
        KvTestData.await(() -> store.freePages() < 16, 5_000, "the reservation", Thread::yield);
        final long killedAt = System.nanoTime();
        senderAeron.close(); // the prefill process is gone
        sender = null;

        KvTestData.await(() -> receipts.failed.containsKey(8L), 5_000, "the receiver to give up", Thread::yield);
        assertTrue(System.nanoTime() - killedAt < TRANSFER_TIMEOUT_NS + TimeUnit.MILLISECONDS.toNanos(500));
        assertTrue(Set.of(KvTransferStatus.FAILED_DISCONNECTED, KvTransferStatus.FAILED_TIMEOUT)
            .contains(receipts.failed.get(8L)), "transfer failed with " + receipts.failed.get(8L));
        assertEquals(16, store.freePages());
        assertEquals(0, receiver.receiver().openTransfers());
    }

    @Test
    void backPressurePastTheOfferDeadlineFailsTheTransfer()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(SMALL, 16, 16);
        // a 64 KiB term: the hung receiver's window fills after a few chunks
        connect(store, FINGERPRINT, "aeron:ipc?term-length=64k", TimeUnit.MILLISECONDS.toNanos(200));
        assertTrue(sender.begin(9, SMALL, TOKENS));
        receiver.halt();
        final long start = System.nanoTime();
        boolean sent = true;
        for (int layer = 0; layer < SMALL.layers() && sent; layer++)
        {
            sent = sender.sendLayer(9, layer, source, KvTestData.partIndex(SMALL, TOKENS, layer, KvPart.K),
                source, KvTestData.partIndex(SMALL, TOKENS, layer, KvPart.V));
        }
        assertFalse(sent, "a stream that stays back-pressured must fail");
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(200));
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
