package io.splitserve.kernels.cuda;

/**
 * Launches {@code gemv.cu} and {@code gemv_swiglu.cu}: a linear layer {@code y[m][n] = x[m][k] . w[n][k]^T (+ bias[n])} for at most
 * {@link #MAX_ROWS} rows, reading each weight byte once, the bias fused, and each output row accumulated in the same
 * order whatever {@code m} is (so a sequence's decode logits do not depend on its batch). Measured on an H200 it is
 * on par with cuBLAS at one row (~2 TB/s on the Qwen2.5-1.5B projections): one warp per output column keeps too few
 * bytes in flight for the narrow projections. So a weight with no more output columns than its reduction length (the
 * o and down projections: {@code n <= k}) runs split-K over two warps per column ({@link #splitFor}); measured on an
 * H200 that took a one-row Qwen2.5-1.5B down projection from 18.2 to 11.8 us, and did nothing for the wide ones
 * (qkv, gate|up, LM head), which keep one warp per column. The split is a property of the weight's shape, never of
 * the row count, so a row's result still does not depend on its batch. The SwiGLU form
 * streams a fused {@code [gate | up]} weight and writes {@code silu(gate) · up} directly, bit for bit what
 * {@link #apply} into a {@code [rows][2 · inter]} buffer followed by {@link ActivationKernels#siluAndMul} gives
 * whenever that weight is wider than deep ({@code 2 · inter > k}, every model's MLP), where neither form splits.
 */
public final class GemvKernel {
    /** Most rows one launch takes. */
    public static final int MAX_ROWS = 8;
    private static final int WARPS_PER_BLOCK = 4;

    private final CudaKernel bf16Out;
    private final CudaKernel f32Out;
    private final CudaKernel bf16OutSplit;
    private final CudaKernel f32OutSplit;
    private final CudaKernel swiGlu;

    public GemvKernel(CudaDevice device) {
        bf16Out = new CudaKernel(device, KernelSpec.GEMV_BF16);
        f32Out = new CudaKernel(device, KernelSpec.GEMV_F32);
        bf16OutSplit = new CudaKernel(device, KernelSpec.GEMV_BF16_SPLIT2);
        f32OutSplit = new CudaKernel(device, KernelSpec.GEMV_F32_SPLIT2);
        swiGlu = new CudaKernel(device, KernelSpec.GEMV_SWIGLU);
    }

    /** bf16 y[m][n] = x[m][k] . w[n][k]^T + bias[n]; pass {@code bias = 0} for none. */
    public void apply(CudaStream stream, long y, long x, long w, long bias, int m, int n, int k) {
        final int split = splitFor(n, k);
        launch(split == 2 ? bf16OutSplit : bf16Out, stream, y, x, w, bias, m, n, k, split);
    }

    /** fp32 y[m][n] = x[m][k] . w[n][k]^T + bias[n], e.g. logits; pass {@code bias = 0} for none. */
    public void applyFloat(CudaStream stream, long y, long x, long w, long bias, int m, int n, int k) {
        final int split = splitFor(n, k);
        launch(split == 2 ? f32OutSplit : f32Out, stream, y, x, w, bias, m, n, k, split);
    }

    /** Warps per output column for a {@code [n][k]} weight: 2 when {@code n <= k}, else 1. */
    public static int splitFor(int n, int k) {
        return n <= k ? 2 : 1;
    }

    /**
     * bf16 {@code y[m][j] = silu(g) · u} with {@code g = x[m] · w[j] + bias[j]} and
     * {@code u = x[m] · w[inter + j] + bias[inter + j]}, for {@code w} the fused {@code [2 · inter][k]} gate|up weight;
     * pass {@code bias = 0} for none.
     */
    public void applySwiGlu(CudaStream stream, long y, long x, long w, long bias, int m, int inter, int k) {
        launch(swiGlu, stream, y, x, w, bias, m, inter, k, 1);
    }

    private static void launch(CudaKernel kernel, CudaStream stream, long y, long x, long w, long bias, int m, int n,
                               int k, int split) {
        if (m <= 0 || m > MAX_ROWS) {
            throw new IllegalArgumentException("gemv takes 1 to " + MAX_ROWS + " rows, got " + m);
        }
        Shapes.positive("output columns", n);
        Shapes.multipleOf8("reduction length", k);
        kernel.args.address(0, y).address(1, x).address(2, w).address(3, bias).int32(4, m).int32(5, n).int32(6, k);
        final int columnsPerBlock = WARPS_PER_BLOCK / split;
        kernel.launch((n + columnsPerBlock - 1) / columnsPerBlock, 1, 1, 32 * WARPS_PER_BLOCK, 0, stream);
    }
}
