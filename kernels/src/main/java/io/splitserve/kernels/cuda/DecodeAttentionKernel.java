package io.splitserve.kernels.cuda;

/**
 * Launches {@code decode_attention.cu}: flash-decoding over the paged KV pool, one query token per sequence.
 * Each sequence's context is cut into partitions of {@code partition} tokens processed by separate blocks
 * (split-KV) whose partial results a second kernel merges by log-sum-exp; all query heads of a GQA group share
 * one block. Partial results live in a workspace sized at construction for the largest batch and split count;
 * when one split covers the whole context the first kernel writes the output itself and the merge is skipped.
 *
 * <p>Layouts: q and out {@code [batch][qHeads][headDim]} bf16 (token rows any stride apart); the pool
 * {@code [pages][pageSize][kvHeads][headDim]} for K and for V; {@code blockTables} int {@code [batch][maxBlocks]};
 * {@code seqLens} int {@code [batch]} (0 marks an idle slot, whose output is zeros). The grid depends only on
 * (batch, maxSeqLen, partition), so a captured step replays correctly for any lengths up to maxSeqLen.
 */
public final class DecodeAttentionKernel implements AutoCloseable {
    /** Largest number of query heads per KV head. */
    public static final int MAX_GROUP = 16;
    private static final int TILE = 64;
    private static final float LOG2E = 1.4426950408889634f;
    private static final int REDUCE_THREADS = 256;
    /**
     * A block's fixed cost (query load, first memory round trip, merge of its warps, partial write, its share of
     * the reduce) in token equivalents: about two 64-token rounds of its four warps.
     */
    private static final int BLOCK_COST_TOKENS = 128;

    private final CudaKernel partial64;
    private final CudaKernel partial128;
    private final CudaKernel reduce;
    private final DeviceBuffer partialOut;
    private final DeviceBuffer partialStats;
    private final int maxBatch;
    private final int maxQHeads;
    private final int maxSplits;
    private final int residentBlocks64;
    private final int residentBlocks128;

    public DecodeAttentionKernel(CudaDevice device, int maxBatch, int maxQHeads, int maxSplits) {
        Shapes.positive("max batch", maxBatch);
        Shapes.positive("max query heads", maxQHeads);
        Shapes.positive("max splits", maxSplits);
        partial64 = new CudaKernel(device, KernelSpec.DECODE_PARTIAL_HD64);
        partial128 = new CudaKernel(device, KernelSpec.DECODE_PARTIAL_HD128);
        reduce = new CudaKernel(device, KernelSpec.DECODE_REDUCE);
        partial64.allowDynamicSharedMemory(sharedBytes(64));
        partial128.allowDynamicSharedMemory(sharedBytes(128));
        this.maxBatch = maxBatch;
        this.maxQHeads = maxQHeads;
        this.maxSplits = maxSplits;
        this.residentBlocks64 = device.multiprocessorCount() * partial64.residentBlocksPerMultiprocessor(128, sharedBytes(64));
        this.residentBlocks128 =
                device.multiprocessorCount() * partial128.residentBlocksPerMultiprocessor(128, sharedBytes(128));
        long rows = (long) maxBatch * maxQHeads * maxSplits;
        partialOut = DeviceBuffer.allocate(rows * 128 * 4);
        partialStats = DeviceBuffer.allocate(rows * 2 * 4);
    }

    /** {@link #partitionFor(int, int, int, int)} at head dimension 128. */
    public int partitionFor(int batch, int kvHeads, int maxSeqLen) {
        return partitionFor(batch, kvHeads, 128, maxSeqLen);
    }

    /**
     * A partition length (a multiple of 64, within this workspace's split count) for this batch shape. Blocks
     * run in waves of as many as the GPU holds at once, and each costs its partition plus a fixed
     * {@value #BLOCK_COST_TOKENS} token equivalents; the split count chosen minimises waves x per-block cost, so a
     * small batch gets enough splits to fill the GPU in one wave without paying for splits it cannot run at once.
     */
    public int partitionFor(int batch, int kvHeads, int headDim, int maxSeqLen) {
        Shapes.headDim(headDim);
        Shapes.positive("batch", batch);
        Shapes.positive("kv heads", kvHeads);
        Shapes.positive("max sequence length", maxSeqLen);
        long resident = headDim == 64 ? residentBlocks64 : residentBlocks128;
        long groups = (long) batch * kvHeads;
        int mostSplits = Math.min(maxSplits, (maxSeqLen + TILE - 1) / TILE);
        int best = roundUpToTile((maxSeqLen + maxSplits - 1) / maxSplits);
        long bestCost = Long.MAX_VALUE;
        for (int wanted = 1; wanted <= mostSplits; wanted++) {
            int partition = roundUpToTile((maxSeqLen + wanted - 1) / wanted);
            long splits = (maxSeqLen + partition - 1) / partition;
            if (splits > maxSplits) {
                continue;
            }
            long waves = (groups * splits + resident - 1) / resident;
            long cost = waves * (partition + BLOCK_COST_TOKENS);
            if (cost < bestCost) {
                bestCost = cost;
                best = partition;
            }
        }
        return best;
    }

    private static int roundUpToTile(int tokens) {
        return Math.max(TILE, (tokens + TILE - 1) / TILE * TILE);
    }

    public void run(CudaStream stream, long out, int outTokenStride, long q, int qTokenStride, long kCache,
                    long vCache, long blockTables, int maxBlocks, long seqLens, int batch, int pageSize, int qHeads,
                    int kvHeads, int headDim, int partition, int maxSeqLen, float scale) {
        Shapes.headDim(headDim);
        Shapes.group(qHeads, kvHeads, MAX_GROUP);
        Shapes.positive("batch", batch);
        Shapes.positive("page size", pageSize);
        Shapes.positive("partition", partition);
        Shapes.positive("max sequence length", maxSeqLen);
        if (batch > maxBatch || qHeads > maxQHeads) {
            throw new IllegalArgumentException("decode attention workspace holds batch " + maxBatch + " x " + maxQHeads
                    + " heads, asked for " + batch + " x " + qHeads);
        }
        int splits = (maxSeqLen + partition - 1) / partition;
        if (splits > maxSplits) {
            throw new IllegalArgumentException("max sequence length " + maxSeqLen + " with partition " + partition
                    + " needs " + splits + " splits; the workspace holds " + maxSplits);
        }
        CudaKernel partial = headDim == 64 ? partial64 : partial128;
        partial.args.address(0, out).int32(1, outTokenStride).address(2, partialOut.address())
                .address(3, partialStats.address()).address(4, q).int32(5, qTokenStride).address(6, kCache)
                .address(7, vCache).address(8, blockTables).int32(9, maxBlocks).address(10, seqLens).int32(11, pageSize)
                .int32(12, qHeads).int32(13, kvHeads).int32(14, partition).int32(15, splits)
                .float32(16, scale * LOG2E);
        partial.launch(splits, kvHeads, batch, 128, sharedBytes(headDim), stream);
        if (splits == 1) {
            return;  // the single split wrote the output
        }
        reduce.args.address(0, out).int32(1, outTokenStride).address(2, partialOut.address())
                .address(3, partialStats.address()).address(4, seqLens).int32(5, qHeads).int32(6, headDim)
                .int32(7, partition).int32(8, splits);
        reduce.launch(qHeads, batch, 1, REDUCE_THREADS, 4 * splits, stream);
    }

    /**
     * The query tile (16 rows), then for each of the 4 warps two stages of 16 K and 16 V rows, all bf16; after the
     * main loop the (larger) stage area is reused for each warp's fp32 output rows and (max, sum) pairs.
     */
    private static int sharedBytes(int headDim) {
        return 2 * 16 * headDim + 2 * (4 * 2 * 2 * 16 * headDim);
    }

    @Override
    public void close() {
        partialOut.close();
        partialStats.close();
    }
}
