package io.splitserve.engine.cuda;

import io.splitserve.engine.forward.KvImportBuffer;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.KvWriteKernel;
import io.splitserve.kernels.cuda.PinnedMemory;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * Takes KV computed elsewhere into the device pages. Arriving bytes land in pinned host memory (one
 * {@link KvImportBuffer} per sequence, recycled: a closed buffer waits for the next import that fits it); at
 * admission each layer's K and V go to the device in one asynchronous copy and the KV-write kernel scatters them
 * through the sequence's slots, so any page size on the sending side works. One stream orders it all, so the
 * single device staging area (one layer, grown on demand) is never overwritten while a kernel still reads it.
 *
 * <p>Owned by the runner's thread.
 */
final class KvImport implements AutoCloseable {
    private static final int MAX_SPARE = 16;

    private final ArrayDeque<PinnedMemory> spare = new ArrayDeque<>();
    private final int layers;
    private final int kvDim;
    private DeviceBuffer layerStaging;
    private DeviceBuffer slotBuffer;
    private boolean closed;

    KvImport(int layers, int kvDim) {
        this.layers = layers;
        this.kvDim = kvDim;
    }

    KvImportBuffer buffer(long bytes) {
        if (bytes <= 0 || bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("an imported KV of " + bytes + " bytes does not fit one pinned buffer");
        }
        for (Iterator<PinnedMemory> it = spare.iterator(); it.hasNext(); ) {
            final PinnedMemory memory = it.next();
            if (memory.size() >= bytes) {
                it.remove();
                return new Buffer(memory);
            }
        }
        return new Buffer(PinnedMemory.allocate((int) bytes));
    }

    /** Copies {@code tokens} tokens of every layer from {@code src} into the pages at {@code slots}; waits for it. */
    void copyIn(KvImportBuffer src, int tokens, int[] slots, KvPool pool, KvWriteKernel kvWrite, CudaStream stream) {
        if (!(src instanceof Buffer buffer) || buffer.owner() != this) {
            throw new IllegalArgumentException("KV import buffer was not handed out by this runner");
        }
        final long partBytes = (long) tokens * kvDim * 2;
        if (slots.length != tokens || buffer.memory.size() < 2L * layers * partBytes) {
            throw new IllegalArgumentException("import of " + tokens + " tokens needs " + tokens + " slots and "
                    + 2L * layers * partBytes + " bytes");
        }
        stream.synchronize();
        if (layerStaging == null || layerStaging.bytes() < 2 * partBytes) {
            if (layerStaging != null) {
                layerStaging.close();
            }
            layerStaging = DeviceBuffer.allocate(2 * partBytes);
        }
        if (slotBuffer == null || slotBuffer.bytes() < 4L * tokens) {
            if (slotBuffer != null) {
                slotBuffer.close();
            }
            slotBuffer = DeviceBuffer.allocate(4L * tokens);
        }
        slotBuffer.copyFrom(slots);
        for (int l = 0; l < layers; l++) {
            stream.copyToDevice(layerStaging, 0, buffer.memory, 2L * l * partBytes, 2 * partBytes); // K then V
            kvWrite.write(stream, pool.keys(l), pool.values(l), layerStaging.address(),
                    layerStaging.address(partBytes), kvDim, slotBuffer.address(), tokens, kvDim);
        }
        stream.synchronize();
    }

    private void giveBack(PinnedMemory memory) {
        if (closed || spare.size() >= MAX_SPARE) {
            memory.close();
        } else {
            spare.add(memory);
        }
    }

    @Override
    public void close() {
        closed = true;
        for (PinnedMemory memory : spare) {
            memory.close();
        }
        spare.clear();
        if (layerStaging != null) {
            layerStaging.close();
        }
        if (slotBuffer != null) {
            slotBuffer.close();
        }
    }

    /** One sequence's pinned memory; closing it more than once gives it back once. */
    private final class Buffer implements KvImportBuffer {
        private final PinnedMemory memory;
        private boolean returned;

        Buffer(PinnedMemory memory) {
            this.memory = memory;
        }

        KvImport owner() {
            return KvImport.this;
        }

        @Override
        public ByteBuffer bytes() {
            return memory.bytes();
        }

        @Override
        public void close() {
            if (!returned) {
                returned = true;
                giveBack(memory);
            }
        }
    }
}
