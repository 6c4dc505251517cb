package io.splitserve.engine.cuda;

import io.splitserve.engine.forward.BatchStep;
import io.splitserve.engine.forward.LayerKvListener;
import io.splitserve.kernels.cuda.CudaEvent;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.PinnedMemory;

/**
 * Streams each layer's K and V of a prefill step out of the device pages while later layers compute. After a
 * layer's KV write the compute stream records an event; a side stream waits for it and copies that layer's rows
 * (one copy per {@link SlotRuns run} of consecutive slots) from the pages into pinned host staging laid out
 * {@code [layers][K, V][stepTokens][kvHeads][headDim]} bf16, then records its own event. The compute stream never
 * waits for a copy. {@link #deliver} then walks the layers in order, blocking only until each layer's copy is done,
 * and hands it to the listener while the GPU is still computing the layers after it.
 *
 * <p>Owned by the runner's thread. Staging grows, to the next {@link PinnedSizes size class}, only when a step
 * has more tokens than the staging holds.
 */
final class KvExport implements AutoCloseable {
    private final CudaStream copyStream = new CudaStream();
    private final CudaEvent[] written;
    private final CudaEvent[] copied;
    private final SlotRuns runs = new SlotRuns();
    private final int rowBytes;
    private PinnedMemory staging;
    private long partBytes;

    KvExport(int layers, int rowBytes) {
        this.rowBytes = rowBytes;
        this.written = new CudaEvent[layers];
        this.copied = new CudaEvent[layers];
        for (int l = 0; l < layers; l++) {
            written[l] = new CudaEvent();
            copied[l] = new CudaEvent();
        }
    }

    /** Plans the copies of {@code step} and makes room for its rows; call before its kernels are queued. */
    void prepare(BatchStep step) {
        runs.plan(step.slotMapping(), step.numTokens());
        partBytes = (long) step.numTokens() * rowBytes;
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

    /** Queues layer {@code layer}'s copies behind the KV write just queued on {@code compute}. */
    void afterKvWrite(CudaStream compute, int layer, DeviceBuffer keyPages, DeviceBuffer valuePages) {
        written[layer].record(compute);
        written[layer].makeWait(copyStream);
        final long keys = offset(layer, false);
        final long values = offset(layer, true);
        for (int i = 0; i < runs.count(); i++) {
            final long host = (long) runs.row(i) * rowBytes;
            final long device = (long) runs.slot(i) * rowBytes;
            final long bytes = (long) runs.length(i) * rowBytes;
            copyStream.copyToHost(staging, keys + host, keyPages, device, bytes);
            copyStream.copyToHost(staging, values + host, valuePages, device, bytes);
        }
        copied[layer].record(copyStream);
    }

    /** Hands every layer to {@code listener} in order, each once its copy has landed. */
    void deliver(LayerKvListener listener) {
        for (int l = 0; l < written.length; l++) {
            copied[l].synchronize();
            listener.onLayerKv(l, staging.bytes(), (int) offset(l, false), staging.bytes(), (int) offset(l, true));
        }
    }

    private long offset(int layer, boolean value) {
        return (2L * layer + (value ? 1 : 0)) * partBytes;
    }

    @Override
    public void close() {
        copyStream.synchronize();
        for (int l = 0; l < written.length; l++) {
            written[l].close();
            copied[l].close();
        }
        if (staging != null) {
            staging.close();
        }
        copyStream.close();
    }
}
