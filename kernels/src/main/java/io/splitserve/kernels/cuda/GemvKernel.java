package io.splitserve.kernels.cuda;

/**
 * Launches the weight-streaming GEMVs ({@code gemv.cuh} and the kernels over it): a linear layer
 * {@code y[m][n] = x[m][k] . w[n][k]^T (+ bias[n])} for at most {@link #MAX_ROWS} rows, reading each weight byte once,
 * the bias fused, and each output row accumulated in the same order whatever {@code m} is (so a sequence's decode
 * logits do not depend on its batch). How a launch spreads its work is a {@link GemvVariant}, picked per shape by
 * {@link GemvTuning}. Besides the plain form:
 * <ul>
 *   <li>SwiGLU: streams a fused {@code [gate | up]} weight and writes {@code silu(gate) · up}, bit for bit what
 *       {@link #apply} into a {@code [rows][2 · inter]} buffer followed by {@link ActivationKernels#siluAndMul} gives;
 *   <li>residual add: {@code residual += x · wᵀ (+ bias)} rounded as {@link #apply} followed by
 *       {@link RmsNormKernels#addRmsNorm} rounds the residual;
 *   <li>folded RMSNorm: {@code y = rmsNorm(x) · wᵀ}, plain, fp32 or SwiGLU, bit for bit what
 *       {@link RmsNormKernels#rmsNorm} followed by the unfolded form gives (each block recomputes the rows' statistics
 *       exactly as the norm kernel does).
 * </ul>
 * Each fused form saves one launch and one round trip of an activation through memory per use. Variants with the
 * same split give the same bits, so the fused forms match the unfused ones launched with the same variant.
 */
public final class GemvKernel {
    /** Most rows one launch takes. */
    public static final int MAX_ROWS = 8;

    private final CudaKernel bf16Out;
    private final CudaKernel f32Out;
    private final CudaKernel addResidual;
    private final CudaKernel swiGlu;
    private final CudaKernel normBf16Out;
    private final CudaKernel normF32Out;
    private final CudaKernel normSwiGlu;

    public GemvKernel(CudaDevice device) {
        bf16Out = new CudaKernel(device, KernelSpec.GEMV_BF16);
        f32Out = new CudaKernel(device, KernelSpec.GEMV_F32);
        addResidual = new CudaKernel(device, KernelSpec.GEMV_ADD_RESIDUAL);
        swiGlu = new CudaKernel(device, KernelSpec.GEMV_SWIGLU);
        normBf16Out = new CudaKernel(device, KernelSpec.RMSNORM_GEMV_BF16);
        normF32Out = new CudaKernel(device, KernelSpec.RMSNORM_GEMV_F32);
        normSwiGlu = new CudaKernel(device, KernelSpec.RMSNORM_GEMV_SWIGLU);
    }

    /** bf16 y[m][n] = x[m][k] . w[n][k]^T + bias[n]; pass {@code bias = 0} for none. */
    public void apply(CudaStream stream, long y, long x, long w, long bias, int m, int n, int k, GemvVariant v) {
        plain(bf16Out, stream, y, x, w, bias, m, n, k, v);
    }

    /** fp32 y[m][n] = x[m][k] . w[n][k]^T + bias[n], e.g. logits; pass {@code bias = 0} for none. */
    public void applyFloat(CudaStream stream, long y, long x, long w, long bias, int m, int n, int k, GemvVariant v) {
        plain(f32Out, stream, y, x, w, bias, m, n, k, v);
    }

    /** {@code residual[m][n] += x[m][k] . w[n][k]^T + bias[n]} (bf16); {@code x} must not alias {@code residual}. */
    public void applyAddResidual(CudaStream stream, long residual, long x, long w, long bias, int m, int n, int k,
                                 GemvVariant v) {
        check(m, n, k);
        addResidual.args.address(0, residual).address(1, x).address(2, w).address(3, bias).int32(4, m).int32(5, n)
                .int32(6, k).int32(7, v.split());
        addResidual.launch(v.blocksFor(n), 1, 1, v.threads(), 0, stream);
    }

    /**
     * bf16 {@code y[m][j] = silu(g) · u} with {@code g = x[m] · w[j] + bias[j]} and
     * {@code u = x[m] · w[inter + j] + bias[inter + j]}, for {@code w} the fused {@code [2 · inter][k]} gate|up weight;
     * pass {@code bias = 0} for none.
     */
    public void applySwiGlu(CudaStream stream, long y, long x, long w, long bias, int m, int inter, int k,
                            GemvVariant v) {
        check(m, inter, k);
        swiGlu.args.address(0, y).address(1, x).address(2, w).address(3, bias).int32(4, m).int32(5, inter).int32(6, k)
                .int32(7, v.split());
        swiGlu.launch(v.blocksFor(inter), 1, 1, v.threads(), 0, stream);
    }

    /** bf16 {@code y = rmsNorm(x) · norm · w^T + bias}: {@link #apply} of what the norm kernel writes. */
    public void applyNormed(CudaStream stream, long y, long x, long norm, float eps, long w, long bias, int m, int n,
                            int k, GemvVariant v) {
        normed(normBf16Out, stream, y, x, norm, eps, w, bias, m, n, k, v);
    }

    /** fp32 {@code y = rmsNorm(x) · norm · w^T + bias}, e.g. the final norm and the LM head. */
    public void applyNormedFloat(CudaStream stream, long y, long x, long norm, float eps, long w, long bias, int m,
                                 int n, int k, GemvVariant v) {
        normed(normF32Out, stream, y, x, norm, eps, w, bias, m, n, k, v);
    }

    /** {@link #applySwiGlu} of {@code rmsNorm(x) · norm}. */
    public void applyNormedSwiGlu(CudaStream stream, long y, long x, long norm, float eps, long w, long bias, int m,
                                  int inter, int k, GemvVariant v) {
        normed(normSwiGlu, stream, y, x, norm, eps, w, bias, m, inter, k, v);
    }

    private static void plain(CudaKernel kernel, CudaStream stream, long y, long x, long w, long bias, int m, int n,
                              int k, GemvVariant v) {
        check(m, n, k);
        kernel.args.address(0, y).address(1, x).address(2, w).address(3, bias).int32(4, m).int32(5, n).int32(6, k)
                .int32(7, v.split()).int32(8, v.colsPerWarp());
        kernel.launch(v.blocksFor((n + v.colsPerWarp() - 1) / v.colsPerWarp()), 1, 1, v.threads(), 0, stream);
    }

    /** {@code groups}: output columns (column pairs for SwiGLU), one per warp group. */
    private static void normed(CudaKernel kernel, CudaStream stream, long y, long x, long norm, float eps, long w,
                               long bias, int m, int groups, int k, GemvVariant v) {
        check(m, groups, k);
        kernel.args.address(0, y).address(1, x).address(2, norm).float32(3, eps).address(4, w).address(5, bias)
                .int32(6, m).int32(7, groups).int32(8, k).int32(9, v.split());
        kernel.launch(v.blocksFor(groups), 1, 1, v.threads(), 0, stream);
    }

    private static void check(int m, int n, int k) {
        if (m <= 0 || m > MAX_ROWS) {
            throw new IllegalArgumentException("gemv takes 1 to " + MAX_ROWS + " rows, got " + m);
        }
        Shapes.positive("output columns", n);
        Shapes.multipleOf8("reduction length", k);
    }
}
