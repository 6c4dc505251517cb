package io.splitserve.kernels.cuda;

import static jcuda.driver.JCudaDriver.CU_MEMHOSTALLOC_PORTABLE;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemHostAlloc;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jcuda.Pointer;

/**
 * Page-locked host memory (cuMemHostAlloc, portable across contexts): the only host memory asynchronous copies
 * may use. Seen as a JCuda {@link Pointer} for the copies and as a little-endian direct {@link ByteBuffer} for Java
 * code, which reads and writes it with absolute indexes (the buffer's position is never relied on).
 */
public final class PinnedMemory implements AutoCloseable {
    private final Pointer pointer = new Pointer();
    private final ByteBuffer bytes;
    private boolean freed;

    private PinnedMemory(int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("pinned memory size must be positive, got " + size);
        }
        cuMemHostAlloc(pointer, size, CU_MEMHOSTALLOC_PORTABLE);
        this.bytes = pointer.getByteBuffer(0, size).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Allocates {@code size} bytes; needs a current CUDA context. */
    public static PinnedMemory allocate(int size) {
        return new PinnedMemory(size);
    }

    public int size() {
        return bytes.capacity();
    }

    public ByteBuffer bytes() {
        return bytes;
    }

    /** The memory {@code offset} bytes in, for an asynchronous copy. */
    public Pointer pointer(long offset) {
        if (offset < 0 || offset > bytes.capacity()) {
            throw new IllegalArgumentException("offset " + offset + " outside pinned memory of " + bytes.capacity()
                    + " bytes");
        }
        return offset == 0 ? pointer : pointer.withByteOffset(offset);
    }

    @Override
    public void close() {
        if (!freed) {
            freed = true;
            cuMemFreeHost(pointer);
        }
    }
}
