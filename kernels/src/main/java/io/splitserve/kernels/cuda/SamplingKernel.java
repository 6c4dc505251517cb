package io.splitserve.kernels.cuda;

/**
 * Launches {@code sampling.cu}: picks one token per sequence from fp32 logits on the GPU. Per-sequence
 * parameters live in device arrays of {@code [batch]}: temperature (float; {@code <= 0} means argmax), top-k
 * (int; {@code <= 0} or {@code >= vocab} disables it), top-p (float; {@code >= 1} disables it), min-p (float;
 * {@code <= 0} disables it), seed (64-bit) and counter (64-bit, advanced by one per call by the kernel itself,
 * so a replayed graph draws new tokens while staying reproducible from the seed).
 *
 * <p>A sampled row is read four times (maximum, candidates by value bin, the candidates of the bin a top-k or
 * top-p threshold falls in, the draw); a threshold's bin is resolved in shared memory when it holds at most
 * {@link #SHARED_KEY_CAPACITY} candidates, and is narrowed by further passes over the row when it holds more (rows
 * of many exactly tied or nearly tied logits). A greedy row is read once.
 */
public final class SamplingKernel {
    /** The candidates of one bin a block resolves in shared memory: {@code SAMPLE_CAPACITY} in {@code sampling.cu}. */
    public static final int SHARED_KEY_CAPACITY = 4096;

    private final CudaKernel kernel;

    public SamplingKernel(CudaDevice device) {
        kernel = new CudaKernel(device, KernelSpec.SAMPLE_TOKENS);
    }

    public void sample(CudaStream stream, long outTokens, long logits, int logitsStride, int vocab, int batch,
                       long temperature, long topK, long topP, long minP, long seeds, long counters) {
        Shapes.positive("batch", batch);
        Shapes.positive("vocab", vocab);
        if (logitsStride < vocab) {
            throw new IllegalArgumentException("logits stride " + logitsStride + " is shorter than the vocab " + vocab);
        }
        kernel.args.address(0, outTokens).address(1, logits).int32(2, logitsStride).int32(3, vocab)
                .address(4, temperature).address(5, topK).address(6, topP).address(7, minP).address(8, seeds)
                .address(9, counters);
        kernel.launch(batch, 1, 1, 1024, 0, stream);
    }
}
