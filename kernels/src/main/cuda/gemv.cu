// Linear layer for a few rows (decode): y[m][n] = sum_k x[m][k] * w[n][k] (+ bias[n]), w row-major [n][k] bf16,
// fp32 accumulation, for 1 <= m <= 8. One warp per output column n streams that weight row once with 16-byte
// loads, eight in flight per lane, and applies it to every x row, so each weight byte is read exactly once: the
// floor of a decode step. x rows (at most 8 x k bf16) come through the read-only cache, shared by all warps.
// Grid: ceil(n / 4) blocks of 128 threads; k is a multiple of 8.
#include "common.cuh"

template <int M, typename Out>
__device__ __forceinline__ void gemv_rows(Out *__restrict__ y, const bf16 *__restrict__ x,
                                          const bf16 *__restrict__ w, const bf16 *__restrict__ bias, int n, int k) {
    const int col = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (col >= n) return;
    const uint4 *wr = reinterpret_cast<const uint4 *>(w + static_cast<long long>(col) * k);
    const uint4 *xr = reinterpret_cast<const uint4 *>(x);
    const int chunks = k >> 3;
    float acc[M];
#pragma unroll
    for (int m = 0; m < M; m++) acc[m] = 0.f;
#pragma unroll 8
    for (int c = lane; c < chunks; c += 32) {
        Bf16x8 wv;
        wv.raw = __ldg(wr + c);
        float wf[8];
        bf16x8_to_float(wv, wf);
#pragma unroll
        for (int m = 0; m < M; m++) {
            Bf16x8 xv;
            xv.raw = __ldg(xr + static_cast<long long>(m) * chunks + c);
            float xf[8];
            bf16x8_to_float(xv, xf);
#pragma unroll
            for (int i = 0; i < 8; i++) acc[m] = fmaf(wf[i], xf[i], acc[m]);
        }
    }
    const float b = bias != nullptr ? __bfloat162float(bias[col]) : 0.f;
#pragma unroll
    for (int m = 0; m < M; m++) {
        const float v = warp_sum(acc[m]) + b;
        if (lane == 0) y[static_cast<long long>(m) * n + col] = static_cast<Out>(v);
    }
}

template <typename Out>
__device__ __forceinline__ void gemv_dispatch(Out *y, const bf16 *x, const bf16 *w, const bf16 *bias, int m, int n,
                                              int k) {
    switch (m) {
        case 1: gemv_rows<1>(y, x, w, bias, n, k); break;
        case 2: gemv_rows<2>(y, x, w, bias, n, k); break;
        case 3: gemv_rows<3>(y, x, w, bias, n, k); break;
        case 4: gemv_rows<4>(y, x, w, bias, n, k); break;
        case 5: gemv_rows<5>(y, x, w, bias, n, k); break;
        case 6: gemv_rows<6>(y, x, w, bias, n, k); break;
        case 7: gemv_rows<7>(y, x, w, bias, n, k); break;
        default: gemv_rows<8>(y, x, w, bias, n, k); break;
    }
}

// bf16 output; bias may be null
extern "C" __global__ void __launch_bounds__(128) gemv_bf16(bf16 *y, const bf16 *x, const bf16 *w, const bf16 *bias,
                                                            int m, int n, int k) {
    gemv_dispatch(y, x, w, bias, m, n, k);
}

// fp32 output (logits); bias may be null
extern "C" __global__ void __launch_bounds__(128) gemv_f32(float *y, const bf16 *x, const bf16 *w, const bf16 *bias,
                                                           int m, int n, int k) {
    gemv_dispatch(y, x, w, bias, m, n, k);
}
