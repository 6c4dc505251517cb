package io.splitserve.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuCtxGetStreamPriorityRange;
import static jcuda.driver.JCudaDriver.cuMemcpyAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamCreateWithPriority;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;

/**
 * A non-blocking CUDA stream (it never synchronises with the legacy default stream, which also makes it
 * capturable into a graph). Its raw handle is what the cuBLAS bridge takes.
 */
public final class CudaStream implements AutoCloseable {
    private final CUstream stream = new CUstream();
    private final long handle;
    // reused by the raw-address copies, so a copy allocates nothing
    private final CUdeviceptr copyDestination = new CUdeviceptr();
    private final CUdeviceptr copySource = new CUdeviceptr();

    public CudaStream() {
        cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
        this.handle = RawAddress.of(stream);
    }

    private CudaStream(int priority) {
        cuStreamCreateWithPriority(stream, CUstream_flags.CU_STREAM_NON_BLOCKING, priority);
        this.handle = RawAddress.of(stream);
    }

    /**
     * A non-blocking stream of the context's greatest priority: its kernels are scheduled ahead of those of ordinary
     * streams as SMs free up, so small side work (copying each layer's KV out and checksumming it) keeps pace with
     * a long computation instead of waiting for its end.
     */
    public static CudaStream highPriority() {
        final int[] least = {0};
        final int[] greatest = {0};
        cuCtxGetStreamPriorityRange(least, greatest);
        return new CudaStream(greatest[0]);
    }

    public CUstream stream() {
        return stream;
    }

    /** Raw cudaStream_t value. */
    public long handle() {
        return handle;
    }

    /** Queues a copy of {@code bytes} from device memory into pinned host memory. */
    public void copyToHost(PinnedMemory dst, long dstOffset, DeviceBuffer src, long srcOffset, long bytes) {
        checkRange(srcOffset, bytes, src.bytes());
        checkRange(dstOffset, bytes, dst.size());
        cuMemcpyDtoHAsync(dst.pointer(dstOffset), src.pointer().withByteOffset(srcOffset), bytes, stream);
    }

    /** Queues a copy of {@code bytes} from pinned host memory into device memory. */
    public void copyToDevice(DeviceBuffer dst, long dstOffset, PinnedMemory src, long srcOffset, long bytes) {
        checkRange(dstOffset, bytes, dst.bytes());
        checkRange(srcOffset, bytes, src.size());
        cuMemcpyHtoDAsync(dst.pointer().withByteOffset(dstOffset), src.pointer(srcOffset), bytes, stream);
    }

    /**
     * Queues a copy of {@code bytes} between raw device addresses. The addresses are unified, so either side may be
     * memory of another GPU (with peer access enabled) or an IPC mapping ({@link PeerMemory#address()}).
     */
    public void copyDeviceToDevice(long dstAddress, long srcAddress, long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("device copy of a negative size: " + bytes + " bytes");
        }
        if (bytes == 0) {
            return;
        }
        if (dstAddress == 0 || srcAddress == 0) {
            throw new IllegalArgumentException("device copy with a null address (destination " + dstAddress
                    + ", source " + srcAddress + ")");
        }
        cuMemcpyAsync(RawAddress.point(copyDestination, dstAddress), RawAddress.point(copySource, srcAddress), bytes,
                stream);
    }

    private static void checkRange(long offset, long bytes, long size) {
        if (offset < 0 || bytes < 0 || offset + bytes > size) {
            throw new IllegalArgumentException("copy of " + bytes + " bytes at offset " + offset + " outside "
                    + size + " bytes");
        }
    }

    public void synchronize() {
        cuStreamSynchronize(stream);
    }

    @Override
    public void close() {
        cuStreamDestroy(stream);
    }
}
