// Linear layer for a few rows (decode): y[m][n] = x[m] . w[n] (+ bias[n]), bf16 or fp32 (logits) output, over
// gemv.cuh's weight-streaming template, whose header says what the launch variant (warps per block, split, cols)
// means. cols is 1 or 2.
#include "gemv.cuh"

template <int COLS, typename Out>
struct PlainGemv {
    GemvShared *smem;
    Out *y;
    const bf16 *x, *w, *bias;
    int n, k, split;
    template <int M>
    __device__ __forceinline__ void run() const {
        gemv_block<M, COLS, false>(*smem, x, nullptr, 0.f, w, (n + COLS - 1) / COLS, k, split,
                                   AdjacentColumns<COLS>{n}, StoreColumns<COLS, Out>{y, bias, n});
    }
};

template <typename Out>
__device__ __forceinline__ void gemv_plain(Out *y, const bf16 *x, const bf16 *w, const bf16 *bias, int m, int n,
                                           int k, int split, int cols) {
    __shared__ GemvShared smem;
    if (cols == 2) {
        gemv_for_rows(m, PlainGemv<2, Out>{&smem, y, x, w, bias, n, k, split});
    } else {
        gemv_for_rows(m, PlainGemv<1, Out>{&smem, y, x, w, bias, n, k, split});
    }
}

// bf16 output; bias may be null
extern "C" __global__ void __launch_bounds__(256) gemv_bf16(bf16 *y, const bf16 *x, const bf16 *w, const bf16 *bias,
                                                            int m, int n, int k, int split, int cols) {
    gemv_plain(y, x, w, bias, m, n, k, split, cols);
}

// fp32 output (logits); bias may be null
extern "C" __global__ void __launch_bounds__(256) gemv_f32(float *y, const bf16 *x, const bf16 *w, const bf16 *bias,
                                                           int m, int n, int k, int split, int cols) {
    gemv_plain(y, x, w, bias, m, n, k, split, cols);
}
