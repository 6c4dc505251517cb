package io.splitserve.engine.cuda;

import io.splitserve.engine.forward.KvImportBuffer;
import io.splitserve.kernels.cuda.CudaEvent;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.KvWriteKernel;
import io.splitserve.kernels.cuda.PinnedMemory;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Takes KV computed elsewhere into the device pages, a layer at a time, beside the forward passes. Arriving bytes
 * land in pinned host memory (one {@link KvImportBuffer} per sequence, in {@link PinnedSizes size classes} and
 * recycled: a closed buffer waits for the next import it fits best). Importing a layer queues, on a side stream of its own, one asynchronous copy of that layer's
 * K and V and of the sequence's slots into a device staging area, then the KV-write kernel that scatters them through
 * the slots, so any page size on the sending side works.
 *
 * <p>Guarantees: every import runs in order on the one side stream, so the single staging area (grown on demand,
 * after the stream drains) is never overwritten while a kernel still reads it. The compute stream and the side stream
 * never touch the same pages: an import's pages belong to no sequence until the engine admits it, and closing a
 * buffer (at admission or release) first waits for the last copy made from it, so neither its pages nor its pinned
 * memory are handed on under a running copy. Owned by the runner's thread.
 */
final class KvImport implements AutoCloseable {
    private static final int MAX_SPARE = 64;
    private static final long MAX_SPARE_BYTES = 8L << 30;

    private final CudaStream importStream = new CudaStream();
    private final ArrayDeque<PinnedMemory> spare = new ArrayDeque<>();
    private final KvPool pool;
    private final KvWriteKernel kvWrite;
    private final int layers;
    private final int kvDim;
    private final long rowBytes;
    private DeviceBuffer staging;
    private long spareBytes;
    private boolean closed;

    KvImport(KvPool pool, KvWriteKernel kvWrite, int layers, int kvDim) {
        this.pool = pool;
        this.kvWrite = kvWrite;
        this.layers = layers;
        this.kvDim = kvDim;
        this.rowBytes = 2L * kvDim;
    }

    /** Pinned memory laid out as the wire's bf16 KV of {@code tokens} tokens, then their slots as int32. */
    KvImportBuffer buffer(int tokens) {
        final long kvBytes = 2L * layers * tokens * rowBytes;
        final long bytes = kvBytes + 4L * tokens;
        if (tokens <= 0 || bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("an imported KV of " + tokens + " tokens does not fit one pinned buffer");
        }
        PinnedMemory best = null;
        for (PinnedMemory memory : spare) {
            if (memory.size() >= bytes && (best == null || memory.size() < best.size())) {
                best = memory;
            }
        }
        if (best != null) {
            spare.remove(best);
            spareBytes -= best.size();
            return new Buffer(best, tokens, (int) kvBytes);
        }
        return new Buffer(PinnedMemory.allocate((int) PinnedSizes.sizeClass(bytes)), tokens, (int) kvBytes);
    }

    /** Queues layer {@code layer}'s copy from {@code src} into the pages at {@code slots}; does not wait for it. */
    void importLayer(KvImportBuffer src, int layer, int[] slots) {
        if (!(src instanceof Buffer buffer) || buffer.owner() != this || buffer.returned) {
            throw new IllegalArgumentException("KV import buffer was not handed out by this runner or was handed back");
        }
        if (layer < 0 || layer >= layers) {
            throw new IndexOutOfBoundsException("layer " + layer + " outside " + layers + " layers");
        }
        final int tokens = buffer.tokens;
        if (slots.length != tokens) {
            throw new IllegalArgumentException("import of " + tokens + " tokens got " + slots.length + " slots");
        }
        if (!buffer.slotsStaged) {
            // written once, before the first copy that reads them; a recycled memory's copies have all landed
            final ByteBuffer bytes = buffer.memory.bytes();
            for (int t = 0; t < tokens; t++) {
                bytes.putInt(buffer.slotOffset + 4 * t, slots[t]);
            }
            buffer.slotsStaged = true;
        }
        final long partBytes = tokens * rowBytes;
        final long slotBytes = 4L * tokens;
        ensureStaging(2 * partBytes + slotBytes);
        importStream.copyToDevice(staging, 0, buffer.memory, 2L * layer * partBytes, 2 * partBytes); // K then V
        importStream.copyToDevice(staging, 2 * partBytes, buffer.memory, buffer.slotOffset, slotBytes);
        kvWrite.write(importStream, pool.keys(layer), pool.values(layer), staging.address(),
                staging.address(partBytes), kvDim, staging.address(2 * partBytes), tokens, kvDim);
        buffer.landed.record(importStream);
    }

    private void ensureStaging(long bytes) {
        if (staging != null && staging.bytes() >= bytes) {
            return;
        }
        if (staging != null) {
            importStream.synchronize();
            staging.close();
        }
        staging = DeviceBuffer.allocate(PinnedSizes.sizeClass(bytes)); // freeing device memory waits for the device too
    }

    private void giveBack(PinnedMemory memory) {
        if (closed || spare.size() >= MAX_SPARE || spareBytes + memory.size() > MAX_SPARE_BYTES) {
            memory.close();
        } else {
            spare.add(memory);
            spareBytes += memory.size();
        }
    }

    @Override
    public void close() {
        closed = true;
        importStream.synchronize();
        for (PinnedMemory memory : spare) {
            memory.close();
        }
        spare.clear();
        spareBytes = 0;
        if (staging != null) {
            staging.close();
        }
        importStream.close();
    }

    /**
     * One sequence's pinned memory (the KV region is all {@link #bytes()} shows) and the event recorded after its
     * latest layer copy; closing it more than once gives it back once.
     */
    private final class Buffer implements KvImportBuffer {
        private final PinnedMemory memory;
        private final int tokens;
        private final int slotOffset;
        private final ByteBuffer kvBytes;
        private final CudaEvent landed = new CudaEvent();
        private boolean slotsStaged;
        private boolean returned;

        Buffer(PinnedMemory memory, int tokens, int kvBytes) {
            this.memory = memory;
            this.tokens = tokens;
            this.slotOffset = kvBytes;
            this.kvBytes = memory.bytes().slice(0, kvBytes).order(memory.bytes().order());
        }

        KvImport owner() {
            return KvImport.this;
        }

        @Override
        public int tokens() {
            return tokens;
        }

        @Override
        public ByteBuffer bytes() {
            return kvBytes;
        }

        /** Waits for this buffer's layer copies (an event never recorded is already reached). */
        @Override
        public void close() {
            if (!returned) {
                returned = true;
                landed.synchronize();
                landed.close();
                giveBack(memory);
            }
        }
    }
}
