// The MLP's gate|up projection and SwiGLU in one pass, for a few rows (decode, 1 <= m <= 8):
// y[m][j] = silu(gate[m][j]) * up[m][j] with gate[m][j] = x[m] . w[j] (+ bias[j]) and up[m][j] = x[m] . w[inter + j]
// (+ bias[inter + j]), w the fused row-major [2 * inter][k] bf16 weight. Each warp group streams weight rows j and
// inter + j side by side (gemv.cuh), so the gate|up activation never goes to memory and no separate silu_and_mul
// runs. Each dot product is accumulated in gemv.cuh's order, rounded to bf16 like the gemv output, and the SiLU-mul
// is silu_and_mul's expression: the result is bit for bit that of gemv_bf16 (same split) followed by silu_and_mul.
// rmsnorm_gemv_swiglu also folds the post-attention RMSNorm into the prologue, as rmsnorm_gemv.cu does.
#include "gemv.cuh"

// weight rows j (gate) and inter + j (up) for output column j
struct GateUpRows {
    int inter;
    __device__ __forceinline__ int operator()(int g, int j) const { return g + j * inter; }
};

struct StoreSwiGlu {
    bf16 *y;
    const bf16 *bias;
    int inter;
    template <int NC, int M>
    __device__ __forceinline__ void operator()(int m, int col, const float (&sums)[NC][M]) const {
        const float gate_bias = bias != nullptr ? __bfloat162float(bias[col]) : 0.f;
        const float up_bias = bias != nullptr ? __bfloat162float(bias[inter + col]) : 0.f;
        // rounded to bf16 where the unfused path stores its gate|up rows
        const float g = __bfloat162float(__float2bfloat16_rn(sums[0][m] + gate_bias));
        const float u = __bfloat162float(__float2bfloat16_rn(sums[1][m] + up_bias));
        y[static_cast<long long>(m) * inter + col] = __float2bfloat16_rn(g / (1.f + __expf(-g)) * u);
    }
};

template <bool NORM>
struct SwiGluGemv {
    GemvShared *smem;
    bf16 *y;
    const bf16 *x, *norm;
    float eps;
    const bf16 *w, *bias;
    int inter, k, split;
    template <int M>
    __device__ __forceinline__ void run() const {
        gemv_block<M, 2, NORM>(*smem, x, norm, eps, w, inter, k, split, GateUpRows{inter},
                               StoreSwiGlu{y, bias, inter});
    }
};

// bias may be null
extern "C" __global__ void __launch_bounds__(256) gemv_swiglu(bf16 *y, const bf16 *x, const bf16 *w, const bf16 *bias,
                                                              int m, int inter, int k, int split) {
    __shared__ GemvShared smem;
    gemv_for_rows(m, SwiGluGemv<false>{&smem, y, x, nullptr, 0.f, w, bias, inter, k, split});
}

// y = swiglu(rmsnorm(x) . [gate | up]); bias may be null
extern "C" __global__ void __launch_bounds__(256) rmsnorm_gemv_swiglu(bf16 *y, const bf16 *x, const bf16 *norm,
                                                                      float eps, const bf16 *w, const bf16 *bias,
                                                                      int m, int inter, int k, int split) {
    __shared__ GemvShared smem;
    gemv_for_rows(m, SwiGluGemv<true>{&smem, y, x, norm, eps, w, bias, inter, k, split});
}
