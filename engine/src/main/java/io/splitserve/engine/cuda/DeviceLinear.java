package io.splitserve.engine.cuda;

import io.splitserve.engine.forward.Linear;
import io.splitserve.kernels.cuda.CudaStream;

/**
 * A {@link Linear} the CUDA ops can apply: bf16 input rows at a device address, output rows (bf16, or fp32 for
 * logits, as the implementation says) at another, queued on a stream. It must launch the same work for the same
 * row count, so a captured graph replays it. The fused forms take at most
 * {@link io.splitserve.kernels.cuda.GemvKernel#MAX_ROWS} rows and give bit for bit what the unfused sequence they
 * stand for gives.
 */
interface DeviceLinear extends Linear {
    /** Queues {@code y[rows][outFeatures] = x[rows][inFeatures] · Wᵀ (+ bias)} on {@code stream}. */
    void apply(CudaStream stream, long y, long x, int rows);

    /**
     * For a fused {@code [gate | up]} linear ({@code outFeatures = 2·inter}), queues
     * {@code y[rows][inter] = silu(x · W_gateᵀ) · (x · W_upᵀ)} in one pass, bit for bit what {@link #apply} into a
     * gate|up buffer followed by SiLU-and-mul gives.
     */
    void applySwiGlu(CudaStream stream, long y, long x, int rows);

    /**
     * Queues {@code residual += x · Wᵀ (+ bias)} (bf16, {@code outFeatures} wide), rounded as {@link #apply} followed
     * by the residual add of add-RMSNorm rounds it.
     */
    void applyAddResidual(CudaStream stream, long residual, long x, int rows);

    /**
     * Queues {@link #apply} of {@code rmsNorm(x) · norm} without writing the normalised rows, bit for bit what the
     * RMSNorm kernel followed by {@link #apply} gives.
     */
    void applyNormed(CudaStream stream, long y, long x, long norm, float eps, int rows);

    /** Queues {@link #applySwiGlu} of {@code rmsNorm(x) · norm}, as {@link #applyNormed} folds the norm in. */
    void applyNormedSwiGlu(CudaStream stream, long y, long x, long norm, float eps, int rows);
}
