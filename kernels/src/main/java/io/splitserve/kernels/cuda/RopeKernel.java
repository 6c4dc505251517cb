package io.splitserve.kernels.cuda;

/**
 * Launches {@code rope.cu}: NeoX-style rotary embedding in place on Q and K at each token's position, with the
 * angles taken from a device table of inverse frequencies (headDim / 2 floats, Llama 3 scaling already applied).
 */
public final class RopeKernel {
    private final CudaKernel kernel;

    public RopeKernel(CudaDevice device) {
        kernel = new CudaKernel(device, KernelSpec.ROPE_NEOX);
    }

    public void apply(CudaStream stream, long q, int qTokenStride, int qHeads, long k, int kTokenStride, int kvHeads,
                      long positions, long invFreq, int tokens, int headDim) {
        Shapes.positive("tokens", tokens);
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException("rope head dim must be positive and even, got " + headDim);
        }
        kernel.args.address(0, q).int32(1, qTokenStride).int32(2, qHeads).address(3, k).int32(4, kTokenStride)
                .int32(5, kvHeads).address(6, positions).address(7, invFreq).int32(8, headDim);
        kernel.launch(tokens, 1, 1, 256, 0, stream);
    }
}
