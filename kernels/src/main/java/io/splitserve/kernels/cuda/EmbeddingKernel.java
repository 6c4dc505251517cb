package io.splitserve.kernels.cuda;

/** Launches {@code embedding.cu}: out[t][:] = table[tokenIds[t]][:] (bf16; an id outside the vocab gives zeros). */
public final class EmbeddingKernel {
    private final CudaKernel kernel;

    public EmbeddingKernel(CudaDevice device) {
        kernel = new CudaKernel(device, KernelSpec.EMBEDDING_GATHER);
    }

    public void gather(CudaStream stream, long out, long table, long tokenIds, int tokens, int hidden, int vocab) {
        Shapes.positive("tokens", tokens);
        Shapes.multipleOf8("hidden size", hidden);
        kernel.args.address(0, out).address(1, table).address(2, tokenIds).int32(3, hidden).int32(4, vocab);
        kernel.launch(tokens, 1, 1, 128, 0, stream);
    }
}
