package io.splitserve.kernels.cuda;

/**
 * Launches {@code gemv.cu} and {@code gemv_swiglu.cu}: a linear layer {@code y[m][n] = x[m][k] . w[n][k]^T (+ bias[n])} for at most
 * {@link #MAX_ROWS} rows, reading each weight byte once, the bias fused, and each output row accumulated in the same
 * order whatever {@code m} is (so a sequence's decode logits do not depend on its batch). Measured on an H200 it is
 * on par with cuBLAS at one row (~2 TB/s on the Qwen2.5-1.5B projections): one warp per output column keeps too few
 * bytes in flight for the narrow projections; split-K and deeper pipelining are the next step. The SwiGLU form
 * streams a fused {@code [gate | up]} weight and writes {@code silu(gate) · up} directly, bit for bit what
 * {@link #apply} into a {@code [rows][2 · inter]} buffer followed by {@link ActivationKernels#siluAndMul} gives.
 */
public final class GemvKernel {
    /** Most rows one launch takes. */
    public static final int MAX_ROWS = 8;
    private static final int WARPS_PER_BLOCK = 4;

    private final CudaKernel bf16Out;
    private final CudaKernel f32Out;
    private final CudaKernel swiGlu;

    public GemvKernel(CudaDevice device) {
        bf16Out = new CudaKernel(device, KernelSpec.GEMV_BF16);
        f32Out = new CudaKernel(device, KernelSpec.GEMV_F32);
        swiGlu = new CudaKernel(device, KernelSpec.GEMV_SWIGLU);
    }

    /** bf16 y[m][n] = x[m][k] . w[n][k]^T + bias[n]; pass {@code bias = 0} for none. */
    public void apply(CudaStream stream, long y, long x, long w, long bias, int m, int n, int k) {
        launch(bf16Out, stream, y, x, w, bias, m, n, k);
    }

    /** fp32 y[m][n] = x[m][k] . w[n][k]^T + bias[n], e.g. logits; pass {@code bias = 0} for none. */
    public void applyFloat(CudaStream stream, long y, long x, long w, long bias, int m, int n, int k) {
        launch(f32Out, stream, y, x, w, bias, m, n, k);
    }

    /**
     * bf16 {@code y[m][j] = silu(g) · u} with {@code g = x[m] · w[j] + bias[j]} and
     * {@code u = x[m] · w[inter + j] + bias[inter + j]}, for {@code w} the fused {@code [2 · inter][k]} gate|up weight;
     * pass {@code bias = 0} for none.
     */
    public void applySwiGlu(CudaStream stream, long y, long x, long w, long bias, int m, int inter, int k) {
        launch(swiGlu, stream, y, x, w, bias, m, inter, k);
    }

    private static void launch(CudaKernel kernel, CudaStream stream, long y, long x, long w, long bias, int m, int n,
                               int k) {
        if (m <= 0 || m > MAX_ROWS) {
            throw new IllegalArgumentException("gemv takes 1 to " + MAX_ROWS + " rows, got " + m);
        }
        Shapes.positive("output columns", n);
        Shapes.multipleOf8("reduction length", k);
        kernel.args.address(0, y).address(1, x).address(2, w).address(3, bias).int32(4, m).int32(5, n).int32(6, k);
        kernel.launch((n + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK, 1, 1, 32 * WARPS_PER_BLOCK, 0, stream);
    }
}
