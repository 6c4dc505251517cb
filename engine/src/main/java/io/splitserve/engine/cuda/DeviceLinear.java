package io.splitserve.engine.cuda;

import io.splitserve.engine.forward.Linear;
import io.splitserve.kernels.cuda.CudaStream;

/**
 * A {@link Linear} the CUDA ops can apply: bf16 input rows at a device address, output rows (bf16, or fp32 for
 * logits, as the implementation says) at another, queued on a stream. It must launch the same work for the same
 * row count, so a captured graph replays it.
 */
interface DeviceLinear extends Linear {
    /** Queues {@code y[rows][outFeatures] = x[rows][inFeatures] · Wᵀ (+ bias)} on {@code stream}. */
    void apply(CudaStream stream, long y, long x, int rows);

    /**
     * For a fused {@code [gate | up]} linear ({@code outFeatures = 2·inter}) and at most
     * {@link io.splitserve.kernels.cuda.GemvKernel#MAX_ROWS} rows, queues
     * {@code y[rows][inter] = silu(x · W_gateᵀ) · (x · W_upᵀ)} in one pass, bit for bit what {@link #apply} into a
     * gate|up buffer followed by SiLU-and-mul gives.
     */
    void applySwiGlu(CudaStream stream, long y, long x, int rows);
}
