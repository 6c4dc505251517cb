package io.splitserve.kernels.cuda;

/**
 * A cuBLAS handle bound to one stream with its own workspace (so GEMMs can be captured into a graph without
 * cuBLAS allocating), computing row-major {@code y[M][N] = x[M][K] . W[N][K]^T} on bf16 operands with fp32
 * accumulation, the layout of every linear layer's weight. The output is bf16 or fp32 (e.g. logits).
 */
public final class Cublas implements AutoCloseable {
    /** cudaDataType values used here. */
    public static final int BF16 = 14;
    public static final int FP32 = 0;
    private static final int OP_N = 0;
    private static final int OP_T = 1;
    private static final long WORKSPACE_BYTES = 32L << 20;

    private final long handle;
    private final DeviceBuffer workspace;
    private final String library;

    public Cublas(CudaStream stream) {
        this.library = CublasNative.load();
        int[] status = {0};
        long h = CublasNative.nCreate(status);
        check(status[0], "cublasCreate");
        this.handle = h;
        this.workspace = DeviceBuffer.allocate(WORKSPACE_BYTES);
        check(CublasNative.nSetStream(handle, stream.handle()), "cublasSetStream");
        check(CublasNative.nSetWorkspace(handle, workspace.address(), workspace.bytes()), "cublasSetWorkspace");
    }

    /** Name of the cuBLAS shared library in use, e.g. libcublas.so.13. */
    public String library() {
        return library;
    }

    /** cuBLAS version number, e.g. 130000. */
    public int version() {
        return CublasNative.nVersion(handle);
    }

    /**
     * {@code y = x . w^T} with x row-major [m][k] bf16, w row-major [n][k] bf16 and y row-major [m][n] of
     * {@code outType} ({@link #BF16} or {@link #FP32}); all arguments are device addresses.
     */
    public void matmulTransposed(long y, int outType, long x, long w, int m, int n, int k) {
        if (m <= 0 || n <= 0 || k <= 0) {
            throw new IllegalArgumentException("matmul shape must be positive: m=" + m + " n=" + n + " k=" + k);
        }
        if (outType != BF16 && outType != FP32) {
            throw new IllegalArgumentException("matmul output type must be BF16 or FP32, got " + outType);
        }
        // row-major y[m][n] is column-major y^T[n][m] = (w as column-major [k][n])^T . (x as column-major [k][m])
        check(CublasNative.nGemmEx(handle, OP_T, OP_N, n, m, k, 1f, w, BF16, k, x, BF16, k, 0f, y, outType, n),
                "cublasGemmEx");
    }

    private static void check(int status, String call) {
        if (status != 0) {
            throw new IllegalStateException(call + " failed with cuBLAS status " + status);
        }
    }

    @Override
    public void close() {
        CublasNative.nDestroy(handle);
        workspace.close();
    }
}
