// A linear whose output is added straight into the residual stream: residual[m][n] += x[m] . w[n] (+ bias[n]), with
// the rounding the unfused sequence applies: the product rounded to bf16 as gemv_bf16 stores it, then the sum
// rounded to bf16 as add_rmsnorm stores the residual. The o and down projections of a decode step end here, so the
// sublayer output never goes to memory and the next norm needs no add. Launch variant as gemv.cuh says, one
// column per warp.
#include "gemv.cuh"

struct AddToResidual {
    bf16 *residual;
    const bf16 *bias;
    int n;
    template <int NC, int M>
    __device__ __forceinline__ void operator()(int m, int col, const float (&sums)[NC][M]) const {
        const float b = bias != nullptr ? __bfloat162float(bias[col]) : 0.f;
        const bf16 product = __float2bfloat16_rn(sums[0][m] + b);
        const long long at = static_cast<long long>(m) * n + col;
        residual[at] = __float2bfloat16_rn(__bfloat162float(product) + __bfloat162float(residual[at]));
    }
};

struct ResidualGemv {
    GemvShared *smem;
    bf16 *residual;
    const bf16 *x, *w, *bias;
    int n, k, split;
    template <int M>
    __device__ __forceinline__ void run() const {
        gemv_block<M, 1, false>(*smem, x, nullptr, 0.f, w, n, k, split, AdjacentColumns<1>{n},
                                AddToResidual{residual, bias, n});
    }
};

// bias may be null; x must not alias residual
extern "C" __global__ void __launch_bounds__(256) gemv_add_residual(bf16 *residual, const bf16 *x, const bf16 *w,
                                                                    const bf16 *bias, int m, int n, int k,
                                                                    int split) {
    __shared__ GemvShared smem;
    gemv_for_rows(m, ResidualGemv{&smem, residual, x, w, bias, n, k, split});
}
