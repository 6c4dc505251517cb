package io.splitserve.kernels.cuda;

/**
 * Launches {@code kv_write.cu}: scatters each token's K and V rows ({@code kvWidth = kvHeads * headDim} bf16,
 * rows {@code tokenStride} elements apart) into the page pool at {@code slots[t] = page * pageSize + offset};
 * a negative slot skips the token.
 */
public final class KvWriteKernel {
    private final CudaKernel kernel;

    public KvWriteKernel(CudaDevice device) {
        kernel = new CudaKernel(device, KernelSpec.KV_WRITE);
    }

    public void write(CudaStream stream, long kCache, long vCache, long k, long v, int tokenStride, long slots,
                      int tokens, int kvWidth) {
        Shapes.positive("tokens", tokens);
        Shapes.multipleOf8("kv width", kvWidth);
        kernel.args.address(0, kCache).address(1, vCache).address(2, k).address(3, v).int32(4, tokenStride)
                .address(5, slots).int32(6, kvWidth);
        kernel.launch(tokens, 1, 1, 128, 0, stream);
    }
}
