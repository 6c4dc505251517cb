package io.splitserve.kernels.cuda;

/**
 * Launches {@code rmsnorm.cu}: RMSNorm, fused residual-add + RMSNorm, and the per-head q/k RMSNorm of Qwen3.
 * Rows are bf16 and contiguous; statistics are computed in fp32.
 */
public final class RmsNormKernels {
    private final CudaKernel norm;
    private final CudaKernel addNorm;
    private final CudaKernel headNorm;

    public RmsNormKernels(CudaDevice device) {
        norm = new CudaKernel(device, KernelSpec.RMSNORM);
        addNorm = new CudaKernel(device, KernelSpec.ADD_RMSNORM);
        headNorm = new CudaKernel(device, KernelSpec.HEAD_RMSNORM);
    }

    /** out[r] = x[r] / rms(x[r]) * weight for {@code rows} rows of {@code hidden}. */
    public void rmsNorm(CudaStream stream, long out, long x, long weight, int rows, int hidden, float eps) {
        Shapes.positive("rows", rows);
        Shapes.multipleOf8("hidden size", hidden);
        norm.args.address(0, out).address(1, x).address(2, weight).int32(3, hidden).float32(4, eps);
        norm.launch(rows, 1, 1, threadsFor(hidden), 0, stream);
    }

    /** residual[r] += x[r]; out[r] = rmsNorm(residual[r]) * weight. */
    public void addRmsNorm(CudaStream stream, long out, long residual, long x, long weight, int rows, int hidden,
                           float eps) {
        Shapes.positive("rows", rows);
        Shapes.multipleOf8("hidden size", hidden);
        addNorm.args.address(0, out).address(1, residual).address(2, x).address(3, weight).int32(4, hidden)
                .float32(5, eps);
        addNorm.launch(rows, 1, 1, threadsFor(hidden), 0, stream);
    }

    /**
     * In place, every head row of {@code heads} heads per token, the token rows {@code tokenStride} elements
     * apart (so Q or K can be normalised inside a fused QKV buffer), with one weight of {@code headDim}.
     */
    public void headRmsNorm(CudaStream stream, long x, int tokenStride, int tokens, int heads, long weight,
                            int headDim, float eps) {
        Shapes.positive("tokens", tokens);
        Shapes.positive("heads", heads);
        Shapes.multipleOf8("head dim", headDim);
        headNorm.args.address(0, x).int32(1, tokenStride).int32(2, heads).address(3, weight).int32(4, headDim)
                .float32(5, eps);
        headNorm.launch(tokens, 1, 1, Math.min(heads, 16) * 32, 0, stream);
    }

    private static int threadsFor(int hidden) {
        int chunks = hidden / 8;
        return chunks >= 512 ? 512 : Math.max(32, (chunks + 31) / 32 * 32);
    }
}
