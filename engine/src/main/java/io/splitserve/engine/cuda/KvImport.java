package io.splitserve.engine.cuda;

import io.splitserve.engine.forward.KvImportBuffer;
import io.splitserve.kernels.cuda.Crc32cKernel;
import io.splitserve.kernels.cuda.CudaEvent;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.KvWriteKernel;
import io.splitserve.kernels.cuda.PinnedMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;

/**
 * Takes KV computed elsewhere into the device pages, a layer at a time, beside the forward passes. Arriving bytes
 * land in pinned host memory (one {@link KvImportBuffer} per sequence, in {@link PinnedSizes size classes} and
 * recycled: a closed buffer waits for the next import it fits best). Importing a layer queues, on a side stream of its own, one asynchronous copy of that layer's
 * K and V and of the sequence's slots into a device staging area, then the KV-write kernel that scatters them through
 * the slots, so any page size on the sending side works. KV in a peer's exported device memory ({@link PeerArenas})
 * takes the same way without the host: per layer, a device-to-device copy into the staging area, the CRC32C of what
 * landed there (copied back into the sequence's pinned bookkeeping, {@link #deviceBuffer}), then the same scatter.
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
    private final Crc32cKernel crc;
    private final PeerArenas peers;
    private final int layers;
    private final int kvDim;
    private final long rowBytes;
    private DeviceBuffer staging;
    private long spareBytes;
    private boolean closed;

    KvImport(KvPool pool, KvWriteKernel kvWrite, Crc32cKernel crc, PeerArenas peers, int layers, int kvDim) {
        this.pool = pool;
        this.kvWrite = kvWrite;
        this.crc = crc;
        this.peers = peers;
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
        return new Buffer(takeSpare(bytes), tokens, (int) kvBytes);
    }

    /**
     * Pinned bookkeeping for a sequence whose KV comes from a peer's device memory: its slots, the two checksum ranges
     * of a layer in the staging area, and one K and one V checksum per layer as they landed. No KV bytes.
     */
    KvImportBuffer deviceBuffer(int tokens) {
        if (tokens <= 0) {
            throw new IllegalArgumentException("an imported KV of " + tokens + " tokens");
        }
        final int rangesOffset = align8(4 * tokens);
        final int crcOffset = rangesOffset + 32;
        final int bytes = crcOffset + 8 * layers;
        final Buffer buffer = new Buffer(takeSpare(bytes), tokens, 0);
        buffer.rangesOffset = rangesOffset;
        buffer.crcOffset = crcOffset;
        final ByteBuffer pinned = buffer.memory.bytes().order(ByteOrder.LITTLE_ENDIAN);
        final long partBytes = tokens * rowBytes;
        pinned.putLong(rangesOffset, 0L);
        pinned.putLong(rangesOffset + 8, partBytes);
        pinned.putLong(rangesOffset + 16, partBytes);
        pinned.putLong(rangesOffset + 24, partBytes);
        for (int i = 0; i < 2 * layers; i++) {
            pinned.putInt(crcOffset + 4 * i, 0);
        }
        return buffer;
    }

    /**
     * Queues layer {@code layer}'s copy from a mapped peer arena ({@code keyOffset}, {@code valueOffset}) into the
     * staging area, the checksum of each part as it landed there, and the scatter into the pages at {@code slots};
     * does not wait.
     */
    void importLayerFromDevice(KvImportBuffer dst, int layer, int[] slots, long arenaId, long keyOffset,
                               long valueOffset) {
        final Buffer buffer = checkedBuffer(dst, layer, slots);
        if (buffer.crcOffset < 0) {
            throw new IllegalArgumentException("a host-memory import buffer cannot take KV from device memory");
        }
        final int tokens = buffer.tokens;
        final ByteBuffer pinned = buffer.memory.bytes().order(ByteOrder.LITTLE_ENDIAN);
        if (!buffer.slotsStaged) {
            for (int t = 0; t < tokens; t++) {
                pinned.putInt(4 * t, slots[t]);
            }
            buffer.slotsStaged = true;
        }
        final long partBytes = tokens * rowBytes;
        final long meta = 2 * partBytes; // slots, then the checksum ranges, then this layer's two checksums
        final long ranges = meta + buffer.rangesOffset;
        final long sums = ranges + 32;
        ensureStaging(sums + 8);
        importStream.copyDeviceToDevice(staging.address(0), peers.address(arenaId, keyOffset), partBytes);
        importStream.copyDeviceToDevice(staging.address(partBytes), peers.address(arenaId, valueOffset), partBytes);
        importStream.copyToDevice(staging, meta, buffer.memory, 0, buffer.rangesOffset + 32L);
        crc.checksum(importStream, staging.address(0), staging.address(ranges), staging.address(ranges + 16), 2,
                staging.address(sums));
        importStream.copyToHost(buffer.memory, buffer.crcOffset + 8L * layer, staging, sums, 8);
        kvWrite.write(importStream, pool.keys(layer), pool.values(layer), staging.address(),
                staging.address(partBytes), kvDim, staging.address(meta), tokens, kvDim);
        buffer.landed.record(importStream);
    }

    /** Waits for every copy into {@code dst}, then reads each layer part's checksum as it landed. */
    void checksums(KvImportBuffer dst, int[] crcs) {
        if (!(dst instanceof Buffer buffer) || buffer.owner() != this || buffer.returned || buffer.crcOffset < 0) {
            throw new IllegalArgumentException("not a device import buffer of this runner, or handed back");
        }
        buffer.landed.synchronize();
        final ByteBuffer pinned = buffer.memory.bytes().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 2 * layers; i++) {
            crcs[i] = pinned.getInt(buffer.crcOffset + 4 * i);
        }
    }

    private Buffer checkedBuffer(KvImportBuffer src, int layer, int[] slots) {
        if (!(src instanceof Buffer buffer) || buffer.owner() != this || buffer.returned) {
            throw new IllegalArgumentException("KV import buffer was not handed out by this runner or was handed back");
        }
        if (layer < 0 || layer >= layers) {
            throw new IndexOutOfBoundsException("layer " + layer + " outside " + layers + " layers");
        }
        if (slots.length != buffer.tokens) {
            throw new IllegalArgumentException("import of " + buffer.tokens + " tokens got " + slots.length + " slots");
        }
        return buffer;
    }

    private static int align8(int bytes) {
        return (bytes + 7) & ~7;
    }

    private PinnedMemory takeSpare(long bytes) {
        PinnedMemory best = null;
        for (PinnedMemory memory : spare) {
            if (memory.size() >= bytes && (best == null || memory.size() < best.size())) {
                best = memory;
            }
        }
        if (best != null) {
            spare.remove(best);
            spareBytes -= best.size();
            return best;
        }
        return PinnedMemory.allocate((int) PinnedSizes.sizeClass(bytes));
    }

    /** Queues layer {@code layer}'s copy from {@code src} into the pages at {@code slots}; does not wait for it. */
    void importLayer(KvImportBuffer src, int layer, int[] slots) {
        final Buffer buffer = checkedBuffer(src, layer, slots);
        if (buffer.crcOffset >= 0) {
            throw new IllegalArgumentException("a device import buffer holds no KV bytes to copy");
        }
        final int tokens = buffer.tokens;
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

    /** Waits for every import queued so far (before memory they read from is unmapped). */
    void drain() {
        importStream.synchronize();
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
        /** Device imports only: where the checksum ranges and the landed checksums lie in {@link #memory}. */
        private int rangesOffset = -1;
        private int crcOffset = -1;

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
