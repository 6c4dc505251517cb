package io.splitserve.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD8Async;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/**
 * A block of device memory with its raw address. Kernels take raw addresses (plus byte offsets), so one
 * buffer can hold several tensors, e.g. Q, K and V of a fused projection.
 *
 * <p>The host copies here are synchronous and wait for the whole context, so they are for set-up, tests and
 * weights; per-step transfers belong on a stream from pinned memory.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final CUdeviceptr pointer = new CUdeviceptr();
    private final long bytes;
    private final long address;
    private boolean freed;

    private DeviceBuffer(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("device buffer size must be positive, got " + bytes);
        }
        cuMemAlloc(pointer, bytes);
        this.bytes = bytes;
        this.address = RawAddress.of(pointer);
    }

    public static DeviceBuffer allocate(long bytes) {
        return new DeviceBuffer(bytes);
    }

    public long bytes() {
        return bytes;
    }

    public long address() {
        return address;
    }

    /** Address {@code byteOffset} bytes into the buffer. */
    public long address(long byteOffset) {
        if (byteOffset < 0 || byteOffset > bytes) {
            throw new IllegalArgumentException("offset " + byteOffset + " outside a buffer of " + bytes + " bytes");
        }
        return address + byteOffset;
    }

    public CUdeviceptr pointer() {
        return pointer;
    }

    public void copyFrom(byte[] src) {
        upload(Pointer.to(src), src.length);
    }

    public void copyFrom(short[] src) {
        upload(Pointer.to(src), 2L * src.length);
    }

    public void copyFrom(float[] src) {
        upload(Pointer.to(src), 4L * src.length);
    }

    public void copyFrom(int[] src) {
        upload(Pointer.to(src), 4L * src.length);
    }

    public void copyFrom(long[] src) {
        upload(Pointer.to(src), 8L * src.length);
    }

    public void copyTo(byte[] dst) {
        download(Pointer.to(dst), dst.length);
    }

    public void copyTo(short[] dst) {
        download(Pointer.to(dst), 2L * dst.length);
    }

    public void copyTo(float[] dst) {
        download(Pointer.to(dst), 4L * dst.length);
    }

    public void copyTo(int[] dst) {
        download(Pointer.to(dst), 4L * dst.length);
    }

    public void copyTo(long[] dst) {
        download(Pointer.to(dst), 8L * dst.length);
    }

    /** Fills every byte with {@code value}, ordered on {@code stream}. */
    public void fillBytes(byte value, CudaStream stream) {
        cuMemsetD8Async(pointer, value, bytes, stream.stream());
    }

    private void upload(Pointer host, long count) {
        checkSize(count);
        cuCtxSynchronize();
        cuMemcpyHtoD(pointer, host, count);
        cuCtxSynchronize();
    }

    private void download(Pointer host, long count) {
        checkSize(count);
        cuCtxSynchronize();
        cuMemcpyDtoH(host, pointer, count);
    }

    private void checkSize(long count) {
        if (count > bytes) {
            throw new IllegalArgumentException("copy of " + count + " bytes exceeds a buffer of " + bytes + " bytes");
        }
    }

    @Override
    public void close() {
        if (!freed) {
            freed = true;
            cuMemFree(pointer);
        }
    }
}
