package io.splitserve.kvtransfer;

import static jcuda.driver.JCudaDriver.cuCtxCreate;
import static jcuda.driver.JCudaDriver.cuCtxDestroy;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.aeron.Aeron;
import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferStatus;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The GPU staging path end to end: KV pages in one device buffer (page size 16, scattered page table) are gathered
 * layer by layer into pinned host memory with async copies, streamed over Aeron IPC, scattered by the receiver into a
 * pinned host page store (page size 48), copied to a second device buffer, and every token row is compared.
 * Skips where no CUDA device is present.
 */
@Tag("gpu")
class PinnedStagingGpuTest
{
    private static final KvGeometry QWEN2_5_1_5B = new KvGeometry(28, 2, 128, KvDtype.BF16);
    private static final int TOKENS = 1000;
    private static final int SOURCE_PAGE_SIZE = 16;
    private static final int SOURCE_PAGES = 80;

    @Test
    void devicePagesReachAnotherDeviceBufferThroughTheTransport()
    {
        final CUcontext context = createContextOrSkip();
        final CUstream stream = new CUstream();
        cuStreamCreate(stream, 0);
        final KvGeometry g = QWEN2_5_1_5B;
        final int rowBytes = g.rowBytes();
        final int sourcePageBytes = SOURCE_PAGE_SIZE * rowBytes;
        final long sourcePartBytes = (long)SOURCE_PAGES * sourcePageBytes;
        final int sourcePoolBytes = Math.toIntExact(2L * g.layers() * sourcePartBytes);

        // the prefill node's device page pool, random contents, and a scattered page table for the sequence
        final UnsafeBuffer hostOriginal = KvTestData.random(sourcePoolBytes, 77);
        final CUdeviceptr sourcePool = new CUdeviceptr();
        cuMemAlloc(sourcePool, sourcePoolBytes);
        cuMemcpyHtoD(sourcePool, Pointer.to(hostOriginal.byteBuffer()), sourcePoolBytes);
        final int[] sourcePages = scatteredPages((TOKENS + SOURCE_PAGE_SIZE - 1) / SOURCE_PAGE_SIZE);

        final int receivePageSize = 48;
        final int receivePages = (TOKENS + receivePageSize - 1) / receivePageSize + 2;
        final int storeBytes = (int)HostKvPageStore.requiredBytes(g, receivePages, receivePageSize);
        final Recorders.Leases leases = new Recorders.Leases();
        final Recorders.Receipts receipts = new Recorders.Receipts();
        final CUdeviceptr destinationPool = new CUdeviceptr();
        cuMemAlloc(destinationPool, storeBytes);

        try (PinnedHostBuffer staging = PinnedHostBuffer.allocate(Math.toIntExact(g.totalBytes(TOKENS)));
            PinnedHostBuffer receivePinned = PinnedHostBuffer.allocate(storeBytes);
            TestMediaDriver driver = TestMediaDriver.launch("gpu-staging"))
        {
            final HostKvPageStore store = new HostKvPageStore(g, receivePages, receivePageSize, receivePinned.buffer());
            final Aeron aeron = driver.connect();
            try (KvSender sender = new KvSender(new KvSenderContext().aeron(aeron).modelFingerprint(5).leaseListener(leases));
                ReceiverThread receiver = new ReceiverThread(new KvReceiver(new KvReceiverContext().aeron(aeron)
                    .modelFingerprint(5).pageStore(store).receiveListener(receipts))))
            {
                KvTestData.awaitConnected(sender, receiver.receiver());
                assertTrue(sender.begin(1, g, TOKENS));
                for (int layer = 0; layer < g.layers(); layer++)
                {
                    for (final KvPart part : new KvPart[] {KvPart.K, KvPart.V})
                    {
                        final int stagingIndex = KvTestData.partIndex(g, TOKENS, layer, part);
                        for (int i = 0; i < sourcePages.length; i++)
                        {
                            final int tokensInPage = Math.min(SOURCE_PAGE_SIZE, TOKENS - i * SOURCE_PAGE_SIZE);
                            final long deviceOffset = sourceOffset(g, sourcePartBytes, layer, part) +
                                (long)sourcePages[i] * sourcePageBytes;
                            cuMemcpyDtoHAsync(staging.pointer().withByteOffset(stagingIndex + (long)i * sourcePageBytes),
                                sourcePool.withByteOffset(deviceOffset), (long)tokensInPage * rowBytes, stream);
                        }
                    }
                    cuStreamSynchronize(stream);
                    assertTrue(sender.sendLayer(1, layer,
                        staging.buffer(), KvTestData.partIndex(g, TOKENS, layer, KvPart.K),
                        staging.buffer(), KvTestData.partIndex(g, TOKENS, layer, KvPart.V)));
                }
                assertTrue(sender.end(1, 7));
                KvTestData.await(() -> leases.ended.containsKey(1L), 30_000, "the ack", sender::doWork);
            }
            assertEquals(KvTransferStatus.OK, leases.ended.get(1L));
            final KvReservation reservation = receipts.admitted.get(1L);

            cuMemcpyHtoDAsync(destinationPool, receivePinned.pointer(), storeBytes, stream);
            cuStreamSynchronize(stream);
            final UnsafeBuffer destinationCopy = new UnsafeBuffer(ByteBuffer.allocateDirect(storeBytes));
            cuMemcpyDtoH(Pointer.to(destinationCopy.byteBuffer()), destinationPool, storeBytes);
            final UnsafeBuffer sourceCopy = new UnsafeBuffer(ByteBuffer.allocateDirect(sourcePoolBytes));
            cuMemcpyDtoH(Pointer.to(sourceCopy.byteBuffer()), sourcePool, sourcePoolBytes);

            for (int layer = 0; layer < g.layers(); layer++)
            {
                for (final KvPart part : new KvPart[] {KvPart.K, KvPart.V})
                {
                    for (int token = 0; token < TOKENS; token++)
                    {
                        final long from = sourceOffset(g, sourcePartBytes, layer, part) +
                            (long)sourcePages[token / SOURCE_PAGE_SIZE] * sourcePageBytes +
                            (long)(token % SOURCE_PAGE_SIZE) * rowBytes;
                        final int to = store.pageOffset(layer, part, reservation.page(token / receivePageSize)) +
                            (token % receivePageSize) * rowBytes;
                        if (sourceCopy.byteBuffer().slice((int)from, rowBytes)
                            .mismatch(destinationCopy.byteBuffer().slice(to, rowBytes)) != -1)
                        {
                            fail("layer " + layer + " " + part + " token " + token + " differs between the device buffers");
                        }
                    }
                }
            }
            store.release(reservation);
            assertEquals(receivePages, store.freePages());
        }
        finally
        {
            cuMemFree(sourcePool);
            cuMemFree(destinationPool);
            cuStreamDestroy(stream);
            cuCtxDestroy(context);
        }
    }

    private static long sourceOffset(final KvGeometry g, final long partBytes, final int layer, final KvPart part)
    {
        return ((long)part.value() * g.layers() + layer) * partBytes;
    }

    private static int[] scatteredPages(final int count)
    {
        final List<Integer> all = new ArrayList<>();
        for (int i = 0; i < SOURCE_PAGES; i++)
        {
            all.add(i);
        }
        Collections.shuffle(all, new Random(3));
        final int[] pages = new int[count];
        for (int i = 0; i < count; i++)
        {
            pages[i] = all.get(i);
        }
        return pages;
    }

    private static CUcontext createContextOrSkip()
    {
        final int[] count = new int[1];
        try
        {
            JCudaDriver.setExceptionsEnabled(true);
            cuInit(0);
            cuDeviceGetCount(count);
        }
        catch (final Throwable ex)
        {
            Assumptions.abort("no CUDA driver here: " + String.valueOf(ex.getMessage()).lines().findFirst().orElse(""));
        }
        Assumptions.assumeTrue(count[0] > 0, "no CUDA device here");
        final CUdevice device = new CUdevice();
        cuDeviceGet(device, 0);
        final CUcontext context = new CUcontext();
        cuCtxCreate(context, 0, device);
        return context;
    }
}
