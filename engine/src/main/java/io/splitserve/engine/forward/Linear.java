package io.splitserve.engine.forward;

/**
 * A linear layer {@code y[rows][out] = x[rows][in] · W[out][in]ᵀ (+ bias)} as the model definition sees it: only
 * its shape. How the product is computed (fp32 arrays, bf16 on the GPU, a quantized or tensor-parallel weight) is
 * the implementation's business; each backend has its own sub-interface with the call its ops make
 * ({@link CpuLinear}, {@code cuda.DeviceLinear}). A new kind of linear is a new implementation of those, never a
 * new forward pass.
 */
public interface Linear {
    int inFeatures();

    int outFeatures();
}
