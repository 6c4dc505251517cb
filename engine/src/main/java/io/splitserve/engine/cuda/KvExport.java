package io.splitserve.engine.cuda;

import io.splitserve.engine.forward.BatchStep;
import io.splitserve.engine.forward.DeviceLayerListener;
import io.splitserve.engine.forward.LayerKvListener;
import io.splitserve.kernels.cuda.Crc32cKernel;
import io.splitserve.kernels.cuda.CudaEvent;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.PinnedMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Streams each layer's K and V of a prefill step out of the device pages while later layers compute. After a
 * layer's KV write the compute stream records an event; a side stream waits for it and copies that layer's rows
 * (one copy per {@link SlotRuns run} of consecutive slots), laid out {@code [layers][K, V][stepTokens][kvHeads][headDim]}
 * bf16, then records its own event. The copy goes either into pinned host staging ({@link #prepare}: the host path,
 * each layer handed to a {@link LayerKvListener}) or into a range of the runner's {@link KvExportArena}
 * ({@link #prepareDevice}: the GPU path), where the side stream also computes the CRC32C of every sequence's K and V
 * rows of the layer and copies those checksums to the host before the layer is reported to a
 * {@link DeviceLayerListener}. The compute stream never waits for a copy. Delivery walks the layers in order, each as
 * soon as its copy is done, and runs the step's "compute done" action (the logits copy and first tokens) as soon as the
 * compute stream is finished, even if layers are still being delivered.
 *
 * <p>Owned by the runner's thread. Staging grows, to the next {@link PinnedSizes size class}, only when a step
 * has more tokens than the staging holds.
 */
final class KvExport implements AutoCloseable {
    // high priority: the copies and checksums of each layer run as soon as its KV is written, not after the step's end
    private final CudaStream copyStream = CudaStream.highPriority();
    private final CudaEvent[] written;
    private final CudaEvent[] copied;
    private final CudaEvent computeDone = new CudaEvent();
    private final SlotRuns runs = new SlotRuns();
    private final Crc32cKernel crc;
    private final int rowBytes;
    private PinnedMemory staging;
    private long partBytes;
    private boolean computeReported;
    // the GPU path
    private KvExportArena arena;
    private long exportOffset;
    private int seqs;
    private int[] crcs = new int[0];
    private PinnedMemory rangesHost;
    private DeviceBuffer rangesDevice;
    private DeviceBuffer crcDevice;
    private PinnedMemory crcHost;

    KvExport(int layers, int rowBytes, Crc32cKernel crc) {
        this.rowBytes = rowBytes;
        this.crc = crc;
        this.written = new CudaEvent[layers];
        this.copied = new CudaEvent[layers];
        for (int l = 0; l < layers; l++) {
            written[l] = new CudaEvent();
            copied[l] = new CudaEvent();
        }
    }

    /** Plans the host-path copies of {@code step} and makes room for its rows; call before its kernels are queued. */
    void prepare(BatchStep step) {
        plan(step);
        arena = null;
        final long needed = 2L * written.length * partBytes;
        if (needed > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a step of " + step.numTokens() + " tokens exports " + needed
                    + " bytes of KV, more than one staging buffer holds; prefill fewer tokens at once");
        }
        if (staging == null || staging.size() < needed) {
            if (staging != null) {
                copyStream.synchronize();
                staging.close();
            }
            staging = PinnedMemory.allocate((int) PinnedSizes.sizeClass(needed));
        }
    }

    /**
     * Plans the GPU-path copies of {@code step} into {@code arena} at {@code offset} (which holds
     * {@link #deviceBytes} of the step) and queues the upload of its checksum ranges; call before its kernels.
     */
    void prepareDevice(BatchStep step, KvExportArena arena, long offset) {
        plan(step);
        this.arena = arena;
        this.exportOffset = offset;
        this.seqs = step.numSeqs();
        final int ranges = 2 * seqs;
        if (crcs.length != ranges) {
            crcs = new int[ranges];
        }
        ensureDeviceScratch(ranges);
        // per sequence: K rows at rowStart * rowBytes of the layer's K part, V rows one part later; the same ranges
        // hold for every layer, whose K part starts at offset + 2 * layer * partBytes
        final ByteBuffer host = rangesHost.bytes().order(ByteOrder.LITTLE_ENDIAN);
        final int[] starts = step.queryStarts();
        for (int s = 0; s < seqs; s++) {
            final long start = (long) starts[s] * rowBytes;
            final long length = (long) (starts[s + 1] - starts[s]) * rowBytes;
            host.putLong(8 * (2 * s), start);
            host.putLong(8 * (2 * s + 1), partBytes + start);
            host.putLong(8 * (ranges + 2 * s), length);
            host.putLong(8 * (ranges + 2 * s + 1), length);
        }
        copyStream.copyToDevice(rangesDevice, 0, rangesHost, 0, 16L * ranges);
    }

    /** Bytes a step of {@code tokens} tokens occupies in an export arena. */
    long deviceBytes(int tokens) {
        return 2L * written.length * tokens * rowBytes;
    }

    private void plan(BatchStep step) {
        runs.plan(step.slotMapping(), step.numTokens());
        partBytes = (long) step.numTokens() * rowBytes;
        computeReported = false;
    }

    private void ensureDeviceScratch(int ranges) {
        final long rangeBytes = 16L * ranges;
        final long crcBytes = 4L * ranges * written.length;
        if (rangesHost == null || rangesHost.size() < rangeBytes || crcHost.size() < crcBytes) {
            copyStream.synchronize();
            closeDeviceScratch();
            rangesHost = PinnedMemory.allocate((int) PinnedSizes.sizeClass(rangeBytes));
            rangesDevice = DeviceBuffer.allocate(rangesHost.size());
            crcHost = PinnedMemory.allocate((int) PinnedSizes.sizeClass(crcBytes));
            crcDevice = DeviceBuffer.allocate(crcHost.size());
        }
    }

    /** Queues layer {@code layer}'s copies (and, on the GPU path, checksums) behind the KV write just queued. */
    void afterKvWrite(CudaStream compute, int layer, DeviceBuffer keyPages, DeviceBuffer valuePages) {
        written[layer].record(compute);
        written[layer].makeWait(copyStream);
        final long keys = (2L * layer) * partBytes;
        final long values = keys + partBytes;
        for (int i = 0; i < runs.count(); i++) {
            final long row = (long) runs.row(i) * rowBytes;
            final long slot = (long) runs.slot(i) * rowBytes;
            final long bytes = (long) runs.length(i) * rowBytes;
            if (arena == null) {
                copyStream.copyToHost(staging, keys + row, keyPages, slot, bytes);
                copyStream.copyToHost(staging, values + row, valuePages, slot, bytes);
            } else {
                copyStream.copyDeviceToDevice(arena.address(exportOffset + keys + row), keyPages.address(slot), bytes);
                copyStream.copyDeviceToDevice(arena.address(exportOffset + values + row), valuePages.address(slot),
                        bytes);
            }
        }
        if (arena != null) {
            final int ranges = 2 * seqs;
            final long out = 4L * ranges * layer;
            crc.checksum(copyStream, arena.address(exportOffset + keys), rangesDevice.address(),
                    rangesDevice.address(8L * ranges), ranges, crcDevice.address(out));
            copyStream.copyToHost(crcHost, out, crcDevice, out, 4L * ranges);
        }
        copied[layer].record(copyStream);
    }

    /** Marks the end of the step's compute (after its last kernel on {@code compute}). */
    void afterCompute(CudaStream compute) {
        computeDone.record(compute);
    }

    /**
     * Host path: hands every layer to {@code listener} in order, each once its copy has landed, and runs
     * {@code whenComputed} once, as soon as the compute stream has finished (at the latest after the last layer).
     */
    void deliver(LayerKvListener listener, Runnable whenComputed) {
        for (int l = 0; l < written.length; l++) {
            awaitCopy(l, whenComputed);
            // sending a layer may take longer than computing one: look for the end of compute before each hand-over
            // too, or the first token would wait for every send
            reportComputeIfDone(whenComputed);
            listener.onLayerKv(l, staging.bytes(), (int) offset(l, false), staging.bytes(), (int) offset(l, true));
        }
        reportCompute(whenComputed);
    }

    /** GPU path: as {@link #deliver}, each layer reported with its sequences' checksums. */
    void deliverDevice(DeviceLayerListener listener, Runnable whenComputed) {
        final ByteBuffer sums = crcHost.bytes().order(ByteOrder.LITTLE_ENDIAN);
        for (int l = 0; l < written.length; l++) {
            awaitCopy(l, whenComputed);
            final int base = 4 * crcs.length * l;
            for (int i = 0; i < crcs.length; i++) {
                crcs[i] = sums.getInt(base + 4 * i);
            }
            listener.onLayerExported(l, crcs);
        }
        reportCompute(whenComputed);
    }

    // waits for layer's copy while watching for the end of compute, so the first token never waits for a layer
    private void awaitCopy(int layer, Runnable whenComputed) {
        while (!copied[layer].query()) {
            reportComputeIfDone(whenComputed);
            Thread.onSpinWait();
        }
    }

    private void reportComputeIfDone(Runnable whenComputed) {
        if (!computeReported && computeDone.query()) {
            computeReported = true;
            whenComputed.run();
        }
    }

    private void reportCompute(Runnable whenComputed) {
        if (!computeReported) {
            computeReported = true;
            computeDone.synchronize();
            whenComputed.run();
        }
    }

    private long offset(int layer, boolean value) {
        return (2L * layer + (value ? 1 : 0)) * partBytes;
    }

    private void closeDeviceScratch() {
        if (rangesHost != null) {
            rangesHost.close();
            rangesDevice.close();
            crcHost.close();
            crcDevice.close();
            rangesHost = null;
        }
    }

    @Override
    public void close() {
        copyStream.synchronize();
        for (int l = 0; l < written.length; l++) {
            written[l].close();
            copied[l].close();
        }
        computeDone.close();
        if (staging != null) {
            staging.close();
        }
        closeDeviceScratch();
        copyStream.close();
    }
}
