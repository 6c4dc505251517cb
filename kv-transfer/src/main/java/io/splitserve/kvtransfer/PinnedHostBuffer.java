package io.splitserve.kvtransfer;

import static jcuda.driver.JCudaDriver.CU_MEMHOSTALLOC_PORTABLE;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemHostAlloc;

import java.nio.ByteOrder;
import jcuda.Pointer;
import jcuda.driver.CUresult;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Page-locked host memory (cuMemHostAlloc) seen both as a JCuda {@link Pointer}, for asynchronous copies to and
 * from the GPU, and as an {@link UnsafeBuffer}, which the KV sender sends from and a {@link HostKvPageStore}
 * scatters into. This is the GPU staging path: device pages are copied into it and streamed from it without any
 * further copy, and received bytes are copied from it to device pages. Requires a current CUDA context.
 */
public final class PinnedHostBuffer implements AutoCloseable
{
    private final Pointer pointer;
    private final UnsafeBuffer buffer;
    private boolean freed;

    private PinnedHostBuffer(final Pointer pointer, final UnsafeBuffer buffer)
    {
        this.pointer = pointer;
        this.buffer = buffer;
    }

    /**
     * Allocate {@code bytes} of pinned host memory, portable across CUDA contexts.
     *
     * @throws IllegalArgumentException when {@code bytes} is not in (0, 2 GiB).
     * @throws IllegalStateException when CUDA refuses the allocation.
     */
    public static PinnedHostBuffer allocate(final int bytes)
    {
        if (bytes <= 0)
        {
            throw new IllegalArgumentException("pinned buffer size must be positive, got " + bytes);
        }
        final Pointer pointer = new Pointer();
        final int result = cuMemHostAlloc(pointer, bytes, CU_MEMHOSTALLOC_PORTABLE);
        if (result != CUresult.CUDA_SUCCESS)
        {
            throw new IllegalStateException("cuMemHostAlloc of " + bytes + " bytes failed: " + CUresult.stringFor(result));
        }
        return new PinnedHostBuffer(pointer, new UnsafeBuffer(pointer.getByteBuffer(0, bytes).order(ByteOrder.nativeOrder())));
    }

    /** The pinned memory for cuMemcpy*Async calls. */
    public Pointer pointer()
    {
        return pointer;
    }

    /** The same memory for the transport. */
    public UnsafeBuffer buffer()
    {
        return buffer;
    }

    /** Frees the pinned memory; the buffers must not be used afterwards. */
    @Override
    public void close()
    {
        if (!freed)
        {
            freed = true;
            cuMemFreeHost(pointer);
        }
    }
}
