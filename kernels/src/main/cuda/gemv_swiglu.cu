// The MLP's gate|up projection and SwiGLU in one pass, for a few rows (decode, 1 <= m <= 8):
// y[m][j] = silu(gate[m][j]) * up[m][j] with gate[m][j] = x[m] . w[j] (+ bias[j]) and up[m][j] = x[m] . w[inter + j]
// (+ bias[inter + j]), w the fused row-major [2 * inter][k] bf16 weight. One warp per output column j streams weight
// rows j and inter + j once each with 16-byte loads, as gemv.cu does for one row, so the gate|up activation never
// goes to memory and no separate silu_and_mul runs. Each dot product is accumulated in gemv.cu's order (lane c takes
// chunks c, c + 32, ...; fp32 fma per element; warp_sum), rounded to bf16 like the gemv output, and the SiLU-mul is
// silu_and_mul's expression: the result is bit for bit that of gemv_bf16 followed by silu_and_mul.
// Grid: ceil(inter / 4) blocks of 128 threads; k is a multiple of 8.
#include "common.cuh"

template <int M>
__device__ __forceinline__ void gemv_swiglu_rows(bf16 *__restrict__ y, const bf16 *__restrict__ x,
                                                 const bf16 *__restrict__ w, const bf16 *__restrict__ bias, int inter,
                                                 int k) {
    const int col = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (col >= inter) return;
    const uint4 *gate_w = reinterpret_cast<const uint4 *>(w + static_cast<long long>(col) * k);
    const uint4 *up_w = reinterpret_cast<const uint4 *>(w + static_cast<long long>(inter + col) * k);
    const uint4 *xr = reinterpret_cast<const uint4 *>(x);
    const int chunks = k >> 3;
    float gate[M], up[M];
#pragma unroll
    for (int m = 0; m < M; m++) gate[m] = up[m] = 0.f;
#pragma unroll 4
    for (int c = lane; c < chunks; c += 32) {
        Bf16x8 gv, uv;
        gv.raw = __ldg(gate_w + c);
        uv.raw = __ldg(up_w + c);
        float gf[8], uf[8];
        bf16x8_to_float(gv, gf);
        bf16x8_to_float(uv, uf);
#pragma unroll
        for (int m = 0; m < M; m++) {
            Bf16x8 xv;
            xv.raw = __ldg(xr + static_cast<long long>(m) * chunks + c);
            float xf[8];
            bf16x8_to_float(xv, xf);
#pragma unroll
            for (int i = 0; i < 8; i++) {
                gate[m] = fmaf(gf[i], xf[i], gate[m]);
                up[m] = fmaf(uf[i], xf[i], up[m]);
            }
        }
    }
    const float gate_bias = bias != nullptr ? __bfloat162float(bias[col]) : 0.f;
    const float up_bias = bias != nullptr ? __bfloat162float(bias[inter + col]) : 0.f;
#pragma unroll
    for (int m = 0; m < M; m++) {
        // rounded to bf16 where the unfused path stores its gate|up rows
        const float g = __bfloat162float(__float2bfloat16_rn(warp_sum(gate[m]) + gate_bias));
        const float u = __bfloat162float(__float2bfloat16_rn(warp_sum(up[m]) + up_bias));
        if (lane == 0) y[static_cast<long long>(m) * inter + col] = __float2bfloat16_rn(g / (1.f + __expf(-g)) * u);
    }
}

// bias may be null
extern "C" __global__ void __launch_bounds__(128) gemv_swiglu(bf16 *y, const bf16 *x, const bf16 *w, const bf16 *bias,
                                                              int m, int inter, int k) {
    switch (m) {
        case 1: gemv_swiglu_rows<1>(y, x, w, bias, inter, k); break;
        case 2: gemv_swiglu_rows<2>(y, x, w, bias, inter, k); break;
        case 3: gemv_swiglu_rows<3>(y, x, w, bias, inter, k); break;
        case 4: gemv_swiglu_rows<4>(y, x, w, bias, inter, k); break;
        case 5: gemv_swiglu_rows<5>(y, x, w, bias, inter, k); break;
        case 6: gemv_swiglu_rows<6>(y, x, w, bias, inter, k); break;
        case 7: gemv_swiglu_rows<7>(y, x, w, bias, inter, k); break;
        default: gemv_swiglu_rows<8>(y, x, w, bias, inter, k); break;
    }
}
