package io.splitserve.kernels.cuda;

/** A linear layer on the GPU: {@code y = x . W^T (+ bias)} through cuBLAS, the bias added by a small kernel. */
public final class MatmulOp {
    private final Cublas cublas;
    private final ActivationKernels activations;

    public MatmulOp(Cublas cublas, ActivationKernels activations) {
        this.cublas = cublas;
        this.activations = activations;
    }

    /** bf16 y[m][n] = x[m][k] . w[n][k]^T + bias[n]; pass {@code bias = 0} for none. */
    public void apply(CudaStream stream, long y, long x, long w, long bias, int m, int n, int k) {
        cublas.matmulTransposed(y, Cublas.BF16, x, w, m, n, k);
        if (bias != 0) {
            activations.biasAdd(stream, y, bias, m, n);
        }
    }

    /** fp32 y[m][n] = x[m][k] . w[n][k]^T, e.g. logits for the sampler. */
    public void applyFloat(long y, long x, long w, int m, int n, int k) {
        cublas.matmulTransposed(y, Cublas.FP32, x, w, m, n, k);
    }
}
