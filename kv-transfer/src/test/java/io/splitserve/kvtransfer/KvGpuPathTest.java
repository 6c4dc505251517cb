package io.splitserve.kvtransfer;

import static io.splitserve.kvtransfer.KvTestData.SMALL;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aeron.Aeron;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferStatus;
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
 * The GPU path's protocol over real Aeron streams, with host memory standing in for the exported device memory
 * ({@link ExportedMemoryIntake}): Begin names the export, each KvLayerReady carries the layer's checksums, the
 * receiver copies and checks what landed. What each case gets: an intact transfer is admitted with every byte equal to
 * the export; memory changed after its checksum was taken fails FAILED_CHECKSUM; a layer never announced fails
 * FAILED_CHECKSUM; an export that cannot be opened fails FAILED_GPU_HANDLE; one from another host, or offered to a
 * store with no GPU, fails FAILED_GPU_PEER_ACCESS; every failure leaves all pages free and ends the sender's lease
 * with the same status; mixing the paths within a transfer is refused by the sender; once a sender's stream is gone,
 * the arena it exported from is detached, once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KvGpuPathTest
{
    private static final long FINGERPRINT = 0x6E0;
    private static final int TOKENS = 37;
    private static final String HOST = "host-a";
    private static final long ARENA = 77;
    /** The transfer lies at this offset of the arena, its layer parts this far apart (a step of more tokens). */
    private static final long OFFSET = 4096;
    private static final long STRIDE = SMALL.partBytes(TOKENS + 5);

    private TestMediaDriver driver;
    private int nextStreamId = 5000;
    private Aeron senderAeron;
    private Aeron receiverAeron;
    private KvSender sender;
    private ReceiverThread receiver;
    private final Recorders.Leases leases = new Recorders.Leases();
    private final Recorders.Receipts receipts = new Recorders.Receipts();
    private HostKvPageStore pages;
    private ExportedMemoryIntake intake;
    private UnsafeBuffer arena;

    @BeforeAll
    void launch()
    {
        driver = TestMediaDriver.launch("gpu-path");
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
        assertEquals(0, leases.duplicates.get() + receipts.duplicates.get(), "an outcome was reported twice");
        leases.ended.clear();
        receipts.admitted.clear();
        receipts.failed.clear();
    }

    private void connect(final KvPageStore store)
    {
        connect(store, "aeron:ipc");
    }

    private void connect(final KvPageStore store, final String channel)
    {
        final int streamId = nextStreamId += 2;
        senderAeron = driver.connect();
        receiverAeron = driver.connect();
        sender = new KvSender(new KvSenderContext().aeron(senderAeron).modelFingerprint(FINGERPRINT)
            .channel(channel).streamId(streamId).ackStreamId(streamId + 1).maxChunkBytes(2048)
            .leaseTimeoutNs(TimeUnit.SECONDS.toNanos(5)).leaseListener(leases));
        receiver = new ReceiverThread(new KvReceiver(new KvReceiverContext().aeron(receiverAeron)
            .modelFingerprint(FINGERPRINT).pageStore(store).receiveListener(receipts).channel(channel)
            .streamId(streamId).ackStreamId(streamId + 1).transferTimeoutNs(TimeUnit.SECONDS.toNanos(5))));
        KvTestData.awaitConnected(sender, receiver.receiver());
    }

    /** Pages, an intake over them and an exported arena holding a random KV at {@link #OFFSET}. */
    private KvPageStore gpuStore(final String hostId)
    {
        return gpuStore(hostId, 64);
    }

    private KvPageStore gpuStore(final String hostId, final int pageCount)
    {
        pages = HostKvPageStore.allocate(SMALL, pageCount, 16);
        intake = new ExportedMemoryIntake(pages, hostId);
        arena = KvTestData.random(OFFSET + 2L * SMALL.layers() * STRIDE, 23);
        intake.arenas.put(ARENA, arena);
        return intake.withIntake();
    }

    private static GpuKvExport export(final String hostId, final long arenaId)
    {
        return new GpuKvExport(hostId, "0123456789abcdef0123456789abcdef", 4242, arenaId, new byte[64], OFFSET, STRIDE);
    }

    private int crcOf(final GpuKvExport export, final int layer, final KvPart part)
    {
        final int bytes = Math.toIntExact(SMALL.partBytes(TOKENS));
        final CRC32C crc = new CRC32C();
        crc.update(arena.byteBuffer().slice(Math.toIntExact(export.partOffset(layer, part == KvPart.V)), bytes));
        return (int)crc.getValue();
    }

    private void announce(final long requestId, final GpuKvExport export, final int layer)
    {
        assertTrue(sender.layerReady(requestId, layer, crcOf(export, layer, KvPart.K), crcOf(export, layer, KvPart.V)));
    }

    private void awaitOutcome(final long requestId)
    {
        KvTestData.await(() -> leases.ended.containsKey(requestId), 10_000, "lease of " + requestId, sender::doWork);
    }

    /** The export's bytes, laid out as the host path's source (per layer K then V), to compare the pages against. */
    private UnsafeBuffer exportedKv(final GpuKvExport export)
    {
        final int partBytes = Math.toIntExact(SMALL.partBytes(TOKENS));
        final UnsafeBuffer kv = new UnsafeBuffer(new byte[Math.toIntExact(SMALL.totalBytes(TOKENS))]);
        for (int layer = 0; layer < SMALL.layers(); layer++)
        {
            for (final KvPart part : new KvPart[] {KvPart.K, KvPart.V})
            {
                kv.putBytes(KvTestData.partIndex(SMALL, TOKENS, layer, part), arena,
                    Math.toIntExact(export.partOffset(layer, part == KvPart.V)), partBytes);
            }
        }
        return kv;
    }

    @Test
    void anIntactTransferIsAdmittedWithTheExportedBytes()
    {
        connect(gpuStore(HOST));
        final GpuKvExport export = export(HOST, ARENA);
        assertTrue(sender.begin(1, SMALL, TOKENS, export));
        for (int layer = 0; layer < SMALL.layers(); layer++)
        {
            announce(1, export, layer);
        }
        assertTrue(sender.end(1, 9));
        awaitOutcome(1);
        assertEquals(KvTransferStatus.OK, leases.ended.get(1L));
        assertEquals(9, receipts.firstTokens.get(1L));
        final KvReservation admitted = receipts.admitted.get(1L);
        final UnsafeBuffer expected = exportedKv(export);
        KvTestData.assertStored(pages, admitted, SMALL, TOKENS, new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(
            expected.capacity())) {{ putBytes(0, expected, 0, expected.capacity()); }});
        pages.release(admitted);
        assertEquals(pages.pageCount(), pages.freePages());
    }

    /** The prompt's token ids travel with Begin to the store on either path, so a decode node can cache the KV. */
    @Test
    void tokenIdsReachTheStoreOnBothPaths()
    {
        connect(gpuStore(HOST));
        final int[] ids = new int[TOKENS];
        for (int i = 0; i < TOKENS; i++)
        {
            ids[i] = 1000 + 7 * i;
        }
        final GpuKvExport export = export(HOST, ARENA);
        assertTrue(sender.begin(10, SMALL, TOKENS, export, ids));
        for (int layer = 0; layer < SMALL.layers(); layer++)
        {
            announce(10, export, layer);
        }
        assertTrue(sender.end(10, 1));
        awaitOutcome(10);
        assertEquals(KvTransferStatus.OK, leases.ended.get(10L));
        assertArrayEquals(ids, intake.tokenIds.get(TOKENS), "GPU path");

        final int hostTokens = 5;
        final UnsafeBuffer source = KvTestData.random(SMALL.totalBytes(hostTokens), 4);
        assertTrue(sender.begin(11, SMALL, hostTokens, null, java.util.Arrays.copyOf(ids, hostTokens)));
        for (int layer = 0; layer < SMALL.layers(); layer++)
        {
            assertTrue(sender.sendLayer(11, layer, source, KvTestData.partIndex(SMALL, hostTokens, layer, KvPart.K),
                source, KvTestData.partIndex(SMALL, hostTokens, layer, KvPart.V)));
        }
        assertTrue(sender.end(11, 1));
        awaitOutcome(11);
        assertEquals(KvTransferStatus.OK, leases.ended.get(11L));
        assertArrayEquals(java.util.Arrays.copyOf(ids, hostTokens), intake.tokenIds.get(-hostTokens), "host path");
        assertThrows(IllegalArgumentException.class, () -> sender.begin(12, SMALL, TOKENS, null, new int[3]));
        pages.release(receipts.admitted.get(10L));
        pages.release(receipts.admitted.get(11L));
    }

    /**
     * A Begin larger than one frame (a long prompt's token ids over a 4 KiB MTU) is assembled whole: its ids arrive
     * intact and the transfer's chunks after it are still scattered as they come.
     */
    @Test
    void aBeginLargerThanAFrameIsAssembledWhole()
    {
        connect(gpuStore(HOST, 160), "aeron:ipc?mtu=4096");
        final int tokens = 2000; // 8000 bytes of ids: the Begin spans two frames
        final int[] ids = new int[tokens];
        for (int i = 0; i < tokens; i++)
        {
            ids[i] = 31 * i + 5;
        }
        final UnsafeBuffer source = KvTestData.random(SMALL.totalBytes(tokens), 6);
        assertTrue(sender.begin(13, SMALL, tokens, null, ids));
        for (int layer = 0; layer < SMALL.layers(); layer++)
        {
            assertTrue(sender.sendLayer(13, layer, source, KvTestData.partIndex(SMALL, tokens, layer, KvPart.K),
                source, KvTestData.partIndex(SMALL, tokens, layer, KvPart.V)));
        }
        assertTrue(sender.end(13, 2));
        awaitOutcome(13);
        assertEquals(KvTransferStatus.OK, leases.ended.get(13L));
        assertArrayEquals(ids, intake.tokenIds.get(-tokens));
        KvTestData.assertStored(pages, receipts.admitted.get(13L), SMALL, tokens, source);
        pages.release(receipts.admitted.get(13L));
    }

    @Test
    void aSenderWhoseStreamIsGoneHasItsArenaDetachedOnce()
    {
        connect(gpuStore(HOST));
        final GpuKvExport export = export(HOST, ARENA);
        assertTrue(sender.begin(9, SMALL, TOKENS, export));
        for (int layer = 0; layer < SMALL.layers(); layer++)
        {
            announce(9, export, layer);
        }
        assertTrue(sender.end(9, 4));
        awaitOutcome(9);
        assertEquals(KvTransferStatus.OK, leases.ended.get(9L));
        pages.release(receipts.admitted.get(9L));
        assertTrue(intake.detached.isEmpty(), "still connected: the mapping stays");
        CloseHelper.closeAll(sender, senderAeron); // the prefill process is gone
        sender = null;
        senderAeron = null;
        KvTestData.await(() -> !intake.detached.isEmpty(), 10_000, "the arena to be detached", Thread::yield);
        assertEquals(java.util.List.of(ARENA), intake.detached);
    }

    @Test
    void memoryChangedAfterItsChecksumFailsTheTransferAndFreesItsPages()
    {
        connect(gpuStore(HOST));
        final GpuKvExport export = export(HOST, ARENA);
        assertTrue(sender.begin(2, SMALL, TOKENS, export));
        announce(2, export, 0);
        final int crcK = crcOf(export, 1, KvPart.K);
        final int crcV = crcOf(export, 1, KvPart.V);
        final int at = Math.toIntExact(export.partOffset(1, true)) + 5;
        arena.putByte(at, (byte)(arena.getByte(at) ^ 0x10)); // one bit flipped in layer 1's V after it was summed
        assertTrue(sender.layerReady(2, 1, crcK, crcV));
        for (int layer = 2; layer < SMALL.layers(); layer++)
        {
            announce(2, export, layer);
        }
        assertTrue(sender.end(2, 3));
        awaitOutcome(2);
        assertEquals(KvTransferStatus.FAILED_CHECKSUM, leases.ended.get(2L));
        assertEquals(KvTransferStatus.FAILED_CHECKSUM, receipts.failed.get(2L));
        assertFalse(receipts.admitted.containsKey(2L));
        assertEquals(pages.pageCount(), pages.freePages());
    }

    @Test
    void aLayerNeverAnnouncedFailsTheTransfer()
    {
        connect(gpuStore(HOST));
        final GpuKvExport export = export(HOST, ARENA);
        assertTrue(sender.begin(3, SMALL, TOKENS, export));
        for (int layer = 0; layer < SMALL.layers() - 1; layer++)
        {
            announce(3, export, layer);
        }
        assertTrue(sender.end(3, 3));
        awaitOutcome(3);
        assertEquals(KvTransferStatus.FAILED_CHECKSUM, leases.ended.get(3L));
        assertEquals(pages.pageCount(), pages.freePages());
    }

    @Test
    void anExportThatCannotBeOpenedIsRefusedWithItsCodeAndReservesNothing()
    {
        connect(gpuStore(HOST));
        assertTrue(sender.begin(4, SMALL, TOKENS, export(HOST, ARENA + 1)));
        awaitOutcome(4);
        assertEquals(KvTransferStatus.FAILED_GPU_HANDLE, leases.ended.get(4L));
        assertEquals(KvTransferStatus.FAILED_GPU_HANDLE, receipts.failed.get(4L));
        assertEquals(pages.pageCount(), pages.freePages());
    }

    @Test
    void anExportOfAnotherHostIsRefusedAsUnreachable()
    {
        connect(gpuStore(HOST));
        assertTrue(sender.begin(5, SMALL, TOKENS, export("host-b", ARENA)));
        awaitOutcome(5);
        assertEquals(KvTransferStatus.FAILED_GPU_PEER_ACCESS, leases.ended.get(5L));
        assertEquals(pages.pageCount(), pages.freePages());
    }

    @Test
    void aStoreWithoutAGpuRefusesTheGpuPath()
    {
        final HostKvPageStore hostOnly = HostKvPageStore.allocate(SMALL, 64, 16);
        connect(hostOnly);
        arena = KvTestData.random(OFFSET + 2L * SMALL.layers() * STRIDE, 23);
        assertTrue(sender.begin(6, SMALL, TOKENS, export(HOST, ARENA)));
        awaitOutcome(6);
        assertEquals(KvTransferStatus.FAILED_GPU_PEER_ACCESS, leases.ended.get(6L));
        assertEquals(hostOnly.pageCount(), hostOnly.freePages());
    }

    @Test
    void theSenderRefusesToMixThePaths()
    {
        connect(gpuStore(HOST));
        final GpuKvExport export = export(HOST, ARENA);
        assertTrue(sender.begin(7, SMALL, TOKENS, export));
        assertThrows(IllegalStateException.class, () -> sender.sendPart(7, 0, KvPart.K, arena, 0));
        announce(7, export, 0);
        assertThrows(IllegalStateException.class, () -> announce(7, export, 0));
        assertTrue(sender.begin(8, SMALL, TOKENS));
        assertThrows(IllegalStateException.class, () -> sender.layerReady(8, 0, 1, 2));
    }
}
