package io.splitserve.kernels.cuda;

/**
 * Launches {@code logit_processing.cu}: applies logit bias and penalties in place to the rows of fp32 logits that have
 * them, before the sampling kernel, with the float operations of the engine's CPU {@code LogitProcessor} (the same
 * bits). One block per processed row; the device arrays are the compact per-step list described in the {@code .cu}
 * file: {@link #ROW_FIELDS} ints per processed row, {@link #PENALTY_FIELDS} per penalty entry (token, output count,
 * in-prompt flag, saved logit) and {@link #BIAS_FIELDS} per bias entry (token, bias bits, saved logit). The kernel
 * writes each entry's saved logit, which {@link LogprobsKernel#chosen} reads.
 */
public final class LogitProcessingKernel {
    /** Ints per processed row: logit row, first penalty entry, penalty entries, first bias entry, bias entries,
     *  repetition, frequency and presence (float bits). */
    public static final int ROW_FIELDS = 8;
    /** Ints per penalty entry: token, output count, in-prompt flag (0 or 1), saved logit. */
    public static final int PENALTY_FIELDS = 4;
    /** Ints per bias entry: token, bias (float bits), saved logit. */
    public static final int BIAS_FIELDS = 3;
    private static final int THREADS = 256;

    private final CudaKernel kernel;

    public LogitProcessingKernel(CudaDevice device) {
        kernel = new CudaKernel(device, KernelSpec.APPLY_LOGIT_PROCESSING);
    }

    public void apply(CudaStream stream, long logits, int logitsStride, int processedRows, long rows,
                      long penaltyEntries, long biasEntries) {
        Shapes.positive("processed rows", processedRows);
        Shapes.positive("logits stride", logitsStride);
        kernel.args.address(0, logits).int32(1, logitsStride).address(2, rows).address(3, penaltyEntries)
                .address(4, biasEntries);
        kernel.launch(processedRows, 1, 1, THREADS, 0, stream);
    }
}
