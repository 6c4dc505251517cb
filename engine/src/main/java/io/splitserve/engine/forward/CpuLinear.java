package io.splitserve.engine.forward;

/**
 * A {@link Linear} the CPU ops can apply: fp32 rows in, fp32 rows out. Implementations must compute each output
 * element the same way whatever the number of rows, so a sequence's logits do not depend on its batch.
 */
public interface CpuLinear extends Linear {
    /** {@code y[rows][outFeatures] = x[rows][inFeatures] · Wᵀ (+ bias)}; {@code y} must not alias {@code x}. */
    void apply(float[] x, int rows, float[] y);
}
