package io.splitserve.engine.cuda;

import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemHostAlloc;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;

import io.splitserve.engine.forward.BatchStep;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import jcuda.Pointer;

/**
 * The flat int metadata of one step, packed into pinned host memory and copied to the device in one asynchronous
 * copy: token ids, positions, KV slots, query starts, context lengths, logit rows, block tables and the page copies
 * (source, destination, rows per copy), back to back. Kernels read these arrays at {@link #address(int)} of the
 * section offsets below; the page copies come last, so they never move a section a captured graph reads.
 *
 * <p>A decode step is packed padded to its batch bucket with a fixed block-table stride, so the section offsets
 * depend only on (bucket, stride) and a graph captured for that shape stays valid: padding rows have token id -1
 * (embedding gives zeros), slot -1 (no KV write) and context length 0 (attention gives zeros).
 *
 * <p>The buffers grow when a step needs more room; {@link #generation()} then changes, because every address
 * baked into a captured graph is stale. The host memory is reused only after the previous step's copy completed,
 * which the runner guarantees by synchronising its stream at the end of every step.
 */
final class StepMetadata implements AutoCloseable {
    private Pointer host = new Pointer();
    private IntBuffer ints;
    private DeviceBuffer device;
    private int capacity;
    private int generation;
    private int used;

    int tokenIds;
    int positions;
    int slots;
    int queryStarts;
    int contextLens;
    int logitRows;
    int blockTables;
    int blockStride;
    int pageCopies;
    int pageCopyCount;

    StepMetadata(int initialInts) {
        allocate(initialInts);
    }

    /** Packs a ragged step as it is (prefill, mixed or eager decode). */
    void packRagged(BatchStep step) {
        final int t = step.numTokens();
        final int b = step.numSeqs();
        final int r = step.numLogitRows();
        blockStride = step.blockTableStride();
        layout(t, b, r, blockStride, step.numPageCopies());
        put(tokenIds, step.tokenIds(), t);
        put(positions, step.positions(), t);
        put(slots, step.slotMapping(), t);
        put(queryStarts, step.queryStarts(), b + 1);
        put(contextLens, step.contextLens(), b);
        put(logitRows, step.logitRows(), r);
        put(blockTables, step.blockTables(), b * blockStride);
        put(pageCopies, step.pageCopies(), 3 * pageCopyCount);
    }

    /**
     * Packs a decode step (one query token per sequence) padded to {@code bucket} sequences with block tables
     * {@code stride} pages wide; every sequence's context must fit in {@code stride} pages.
     */
    void packDecode(BatchStep step, int bucket, int stride) {
        final int n = step.numSeqs();
        blockStride = stride;
        layout(bucket, bucket, bucket, stride, step.numPageCopies());
        put(pageCopies, step.pageCopies(), 3 * pageCopyCount);
        final int[] stepTables = step.blockTables();
        final int stepStride = step.blockTableStride();
        for (int s = 0; s < bucket; s++) {
            final boolean real = s < n;
            ints.put(tokenIds + s, real ? step.tokenIds()[s] : -1);
            ints.put(positions + s, real ? step.positions()[s] : 0);
            ints.put(slots + s, real ? step.slotMapping()[s] : -1);
            ints.put(queryStarts + s, s);
            ints.put(contextLens + s, real ? step.contextLens()[s] : 0);
            ints.put(logitRows + s, s);
            final int row = blockTables + s * stride;
            final int copied = real ? Math.min(stepStride, stride) : 0;
            for (int p = 0; p < copied; p++) {
                ints.put(row + p, stepTables[s * stepStride + p]);
            }
            for (int p = copied; p < stride; p++) {
                ints.put(row + p, 0);
            }
        }
        ints.put(queryStarts + bucket, bucket);
    }

    private void layout(int tokens, int seqs, int rows, int stride, int copies) {
        tokenIds = 0;
        positions = tokenIds + tokens;
        slots = positions + tokens;
        queryStarts = slots + tokens;
        contextLens = queryStarts + seqs + 1;
        logitRows = contextLens + seqs;
        blockTables = logitRows + rows;
        pageCopies = blockTables + seqs * stride;
        pageCopyCount = copies;
        used = pageCopies + 3 * copies;
        if (used > capacity) {
            close();
            allocate(Math.max(used, 2 * capacity));
            generation++;
        }
    }

    private void put(int offset, int[] values, int count) {
        ints.put(offset, values, 0, count);
    }

    /** Copies the packed ints to the device, ordered on {@code stream}. */
    void upload(CudaStream stream) {
        cuMemcpyHtoDAsync(device.pointer(), host, 4L * used, stream.stream());
    }

    /** Device address of the int at {@code offset}. */
    long address(int offset) {
        return device.address(4L * offset);
    }

    /** Changes whenever the device buffer moved. */
    int generation() {
        return generation;
    }

    private void allocate(int count) {
        capacity = count;
        host = new Pointer();
        cuMemHostAlloc(host, 4L * count, 0);
        ints = host.getByteBuffer(0, 4L * count).order(ByteOrder.nativeOrder()).asIntBuffer();
        device = DeviceBuffer.allocate(4L * count);
    }

    @Override
    public void close() {
        if (device != null) {
            device.close();
            cuMemFreeHost(host);
            device = null;
        }
    }
}
