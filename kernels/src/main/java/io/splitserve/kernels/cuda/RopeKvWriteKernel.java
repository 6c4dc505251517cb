package io.splitserve.kernels.cuda;

/**
 * Launches {@code rope_kv_write.cu}: in one kernel, NeoX rotary embedding in place on the Q heads of fused
 * {@code [q | k | v]} rows and each token's rotated K heads and its V heads written into the page pool at
 * {@code slots[t] = page * pageSize + offset} (a negative slot writes nothing). Bit for bit what {@link RopeKernel}
 * then {@link KvWriteKernel} produce in Q and in the pool; unlike them it leaves the K heads of the rows unrotated,
 * as every later reader takes K from the pool.
 */
public final class RopeKvWriteKernel {
    private final CudaKernel kernel;

    public RopeKvWriteKernel(CudaDevice device) {
        kernel = new CudaKernel(device, KernelSpec.ROPE_KV_WRITE);
    }

    /**
     * {@code qkv} rows are {@code tokenStride} elements apart, Q heads first, then {@code kvHeads} K heads, then as
     * many V heads; the pool is {@code [slots][kvHeads][headDim]} for K and for V; {@code positions} and
     * {@code slots} are int per token, {@code invFreq} {@code headDim / 2} floats.
     */
    public void apply(CudaStream stream, long qkv, int tokenStride, int qHeads, int kvHeads, long kCache, long vCache,
                      long slots, long positions, long invFreq, int tokens, int headDim) {
        Shapes.positive("tokens", tokens);
        Shapes.positive("query heads", qHeads);
        Shapes.positive("kv heads", kvHeads);
        Shapes.multipleOf8("head dim", headDim);
        Shapes.multipleOf8("token stride", tokenStride);
        if (tokenStride < (qHeads + 2 * kvHeads) * headDim) {
            throw new IllegalArgumentException("token stride " + tokenStride + " is narrower than the "
                    + (qHeads + 2 * kvHeads) + " heads of " + headDim + " it holds");
        }
        kernel.args.address(0, qkv).int32(1, tokenStride).int32(2, qHeads).int32(3, kvHeads).address(4, kCache)
                .address(5, vCache).address(6, slots).address(7, positions).address(8, invFreq).int32(9, headDim);
        kernel.launch(tokens, 1, 1, 256, 0, stream);
    }
}
