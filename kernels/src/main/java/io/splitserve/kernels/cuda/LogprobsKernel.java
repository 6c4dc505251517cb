package io.splitserve.kernels.cuda;

/**
 * Launches {@code logprobs.cu}: the log-probabilities of raw fp32 logits for the rows that ask for them, into
 * {@link #SLOT_INTS} ints per such row (max logit, log-sum, the chosen token's logprob, then up to
 * {@link #MAX_TOP} (token, logprob) pairs, floats as their bits). {@link #top} runs before the logits are processed
 * (max, float log-sum-exp, top tokens); {@link #chosen} after the sampling kernel (the chosen token's logprob, its raw
 * logit taken from what {@link LogitProcessingKernel} saved when it changed that logit). The device list
 * {@code logprobRows} holds {@link #ROW_FIELDS} ints per row: logit row, top tokens wanted, index in the
 * logit-processing list or -1. The engine's CPU {@code Sampler.logprobs} (double) is the reference; the float sums
 * here agree with it within {@code Sampler.LOGPROB_TOLERANCE}, the top tokens exactly.
 */
public final class LogprobsKernel {
    public static final int ROW_FIELDS = 3;
    public static final int MAX_TOP = 20;
    public static final int SLOT_INTS = 3 + 2 * MAX_TOP;
    private static final int THREADS = 512;

    private final CudaKernel top;
    private final CudaKernel chosen;

    public LogprobsKernel(CudaDevice device) {
        top = new CudaKernel(device, KernelSpec.LOGPROBS_TOP);
        chosen = new CudaKernel(device, KernelSpec.LOGPROBS_CHOSEN);
    }

    /** Max, log-sum and top tokens of each listed row of raw {@code logits} into {@code out}. */
    public void top(CudaStream stream, long logits, int logitsStride, int vocab, int rows, long logprobRows, long out) {
        Shapes.positive("logprob rows", rows);
        Shapes.positive("vocab", vocab);
        if (logitsStride < vocab) {
            throw new IllegalArgumentException("logits stride " + logitsStride + " is shorter than the vocab " + vocab);
        }
        top.args.address(0, logits).int32(1, logitsStride).int32(2, vocab).address(3, logprobRows).address(4, out);
        top.launch(rows, 1, 1, THREADS, 0, stream);
    }

    /**
     * The chosen token's logprob of each listed row ({@code sampled[row]}, after the sampling kernel), from the max
     * and log-sum {@link #top} wrote into {@code out}.
     */
    public void chosen(CudaStream stream, long logits, int logitsStride, int rows, long logprobRows, long sampled,
                       long processingRows, long penaltyEntries, long biasEntries, long out) {
        Shapes.positive("logprob rows", rows);
        chosen.args.address(0, logits).int32(1, logitsStride).address(2, logprobRows).address(3, sampled)
                .address(4, processingRows).address(5, penaltyEntries).address(6, biasEntries).address(7, out);
        chosen.launch(rows, 1, 1, 32, 0, stream);
    }
}
