// RMSNorm folded into the prologue of the linear that follows it: y[m][n] = rmsnorm(x[m]) . w[n] (+ bias[n]), bf16
// or fp32 (logits) output, bit for bit what rmsnorm (bf16 rows) followed by gemv_bf16 / gemv_f32 gives: every block
// computes each row's 1 / rms itself exactly as rmsnorm.cu does (rms_row.cuh; no atomics, the rows come from L2)
// and normalises x, rounded to bf16, as it reads it. One launch instead of two, and the normalised rows never go to
// memory. Launch variant as gemv.cuh says, one column per warp.
#include "gemv.cuh"

template <typename Out>
struct NormedGemv {
    GemvShared *smem;
    Out *y;
    const bf16 *x, *norm;
    float eps;
    const bf16 *w, *bias;
    int n, k, split;
    template <int M>
    __device__ __forceinline__ void run() const {
        gemv_block<M, 1, true>(*smem, x, norm, eps, w, n, k, split, AdjacentColumns<1>{n},
                               StoreColumns<1, Out>{y, bias, n});
    }
};

// bf16 output; bias may be null
extern "C" __global__ void __launch_bounds__(256) rmsnorm_gemv_bf16(bf16 *y, const bf16 *x, const bf16 *norm,
                                                                    float eps, const bf16 *w, const bf16 *bias,
                                                                    int m, int n, int k, int split) {
    __shared__ GemvShared smem;
    gemv_for_rows(m, NormedGemv<bf16>{&smem, y, x, norm, eps, w, bias, n, k, split});
}

// fp32 output (logits); bias may be null
extern "C" __global__ void __launch_bounds__(256) rmsnorm_gemv_f32(float *y, const bf16 *x, const bf16 *norm,
                                                                   float eps, const bf16 *w, const bf16 *bias,
                                                                   int m, int n, int k, int split) {
    __shared__ GemvShared smem;
    gemv_for_rows(m, NormedGemv<float>{&smem, y, x, norm, eps, w, bias, n, k, split});
}
