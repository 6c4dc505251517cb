package io.splitserve.kernels.cuda;

/**
 * Launches {@code prefill_attention.cu}: causal GQA attention for a ragged batch of prompts (no padding),
 * FlashAttention-2 style on bf16 tensor cores, reading K and V from the paged pool (so cached prefix pages count).
 *
 * <p>Layouts: q and out {@code [tokens][qHeads][headDim]} bf16 (token rows any stride apart), the batch's
 * query rows back to back; {@code qStarts} int {@code [batch + 1]} cumulative; {@code kvLens} int {@code [batch]}
 * (each at least the sequence's query count: its queries are the last tokens of its context);
 * {@code blockTables} int {@code [batch][maxBlocks]}; the pool {@code [pages][pageSize][kvHeads][headDim]}.
 * The grid (qHeads x query tiles, heads the fast index) depends only on (batch, totalTokens), so a captured
 * launch is valid for any split of those tokens.
 */
public final class PrefillAttentionKernel {
    private static final int BLOCK_M = 128;
    private static final int BLOCK_N = 64;
    private static final int MAX_GRID_Y = 65535;
    private static final float LOG2E = 1.4426950408889634f;
    private final CudaKernel hd64;
    private final CudaKernel hd128;

    public PrefillAttentionKernel(CudaDevice device) {
        hd64 = new CudaKernel(device, KernelSpec.PREFILL_HD64);
        hd128 = new CudaKernel(device, KernelSpec.PREFILL_HD128);
        hd64.allowDynamicSharedMemory(sharedBytes(64));
        hd128.allowDynamicSharedMemory(sharedBytes(128));
    }

    public void run(CudaStream stream, long out, int outTokenStride, long q, int qTokenStride, long kCache,
                    long vCache, long qStarts, long kvLens, long blockTables, int maxBlocks, int batch,
                    int totalTokens, int pageSize, int qHeads, int kvHeads, int headDim, float scale) {
        Shapes.headDim(headDim);
        Shapes.group(qHeads, kvHeads, Integer.MAX_VALUE);
        Shapes.positive("batch", batch);
        Shapes.positive("total tokens", totalTokens);
        Shapes.positive("page size", pageSize);
        CudaKernel k = headDim == 64 ? hd64 : hd128;
        k.args.address(0, out).int32(1, outTokenStride).address(2, q).int32(3, qTokenStride).address(4, kCache)
                .address(5, vCache).address(6, qStarts).address(7, kvLens).address(8, blockTables).int32(9, maxBlocks)
                .int32(10, batch).int32(11, pageSize).int32(12, qHeads).int32(13, kvHeads)
                .float32(14, scale * LOG2E);
        int maxTiles = totalTokens / BLOCK_M + batch;  // >= sum over sequences of ceil(len / BLOCK_M)
        if (maxTiles > MAX_GRID_Y) {
            throw new IllegalArgumentException("prefill of " + totalTokens + " tokens in " + batch
                    + " sequences needs " + maxTiles + " query tiles; one launch takes at most " + MAX_GRID_Y);
        }
        k.launch(qHeads, maxTiles, 1, 128, sharedBytes(headDim), stream);
    }

    /** Q tile, one K and one V tile, bf16, and two slots of K/V row offsets (8 bytes each). */
    private static int sharedBytes(int headDim) {
        return (BLOCK_M + 2 * BLOCK_N) * headDim * 2 + 2 * BLOCK_N * 8;
    }
}
