package io.splitserve.kernels.cuda;

/**
 * Launches {@code sampling.cu}: picks one token per sequence from fp32 logits on the GPU. Per-sequence
 * parameters live in device arrays of {@code [batch]}: temperature (float; {@code <= 0} means argmax), top-k
 * (int; {@code <= 0} or {@code >= vocab} disables it), top-p (float; {@code >= 1} disables it), min-p (float;
 * {@code <= 0} disables it), seed (64-bit) and counter (64-bit, advanced by one per call by the kernel itself,
 * so a replayed graph draws new tokens while staying reproducible from the seed).
 *
 * <p>A sampled row is read three times (argmax, candidate count, candidate copy) when at most
 * {@link #CANDIDATE_CAPACITY} tokens lie within the candidate floor below its top logit; its thresholds and draw then
 * run in shared memory. A row with more candidates is sampled by the same rule over the whole row, more slowly.
 */
public final class SamplingKernel {
    /** The candidates a row's block holds in shared memory: {@code SAMPLE_CANDIDATES} in {@code sampling.cu}. */
    public static final int CANDIDATE_CAPACITY = 4096;

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
