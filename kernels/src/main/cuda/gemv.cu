// Linear layer for a few rows (decode): y[m][n] = sum_k x[m][k] * w[n][k] (+ bias[n]), w row-major [n][k] bf16,
// fp32 accumulation, for 1 <= m <= 8. One warp per output column n streams that weight row once with 16-byte
// loads, eight in flight per lane, and applies it to every x row, so each weight byte is read exactly once: the
// floor of a decode step. x rows (at most 8 x k bf16) come through the read-only cache, shared by all warps.
// The _split2 kernels give each column two warps, one per half of k, whose sums are added in a fixed order (first
// half, then second, then the bias): twice the bytes in flight per column, for the narrow projections (o, down)
// whose one warp per column leaves the memory system idle. They are separate kernels so the plain ones keep their
// registers and occupancy.
// Grid: ceil(n / 4) blocks of 128 threads (ceil(n / 2) for _split2); k is a multiple of 8.
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

// The split-K form: two warps per column, the first over chunks [0, half), the second over [half, chunks); the
// second's sums reach the first through shared memory and are added in that order, then the bias.
template <int M, typename Out>
__device__ __forceinline__ void gemv_rows_split2(Out *__restrict__ y, const bf16 *__restrict__ x,
                                                 const bf16 *__restrict__ w, const bf16 *__restrict__ bias, int n,
                                                 int k) {
    __shared__ float second[4][M];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int col = blockIdx.x * ((blockDim.x >> 5) / 2) + (warp >> 1);
    const int part = warp & 1;
    const int chunks = k >> 3, half = (chunks + 1) >> 1;
    const int begin = part * half, end = part == 0 ? half : chunks;
    const uint4 *wr = reinterpret_cast<const uint4 *>(w + static_cast<long long>(col < n ? col : 0) * k);
    const uint4 *xr = reinterpret_cast<const uint4 *>(x);
    float acc[M];
#pragma unroll
    for (int m = 0; m < M; m++) acc[m] = 0.f;
    if (col < n) {
#pragma unroll 8
        for (int c = begin + lane; c < end; c += 32) {
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
    }
#pragma unroll
    for (int m = 0; m < M; m++) acc[m] = warp_sum(acc[m]);
    if (part == 1 && lane == 0) {
#pragma unroll
        for (int m = 0; m < M; m++) second[warp][m] = acc[m];
    }
    __syncthreads();
    if (part == 1 || col >= n) return;
    const float b = bias != nullptr ? __bfloat162float(bias[col]) : 0.f;
#pragma unroll
    for (int m = 0; m < M; m++) {
        const float v = acc[m] + second[warp + 1][m] + b;
        if (lane == 0) y[static_cast<long long>(m) * n + col] = static_cast<Out>(v);
    }
}

template <typename Out>
__device__ __forceinline__ void gemv_split2_dispatch(Out *y, const bf16 *x, const bf16 *w, const bf16 *bias, int m,
                                                     int n, int k) {
    switch (m) {
        case 1: gemv_rows_split2<1>(y, x, w, bias, n, k); break;
        case 2: gemv_rows_split2<2>(y, x, w, bias, n, k); break;
        case 3: gemv_rows_split2<3>(y, x, w, bias, n, k); break;
        case 4: gemv_rows_split2<4>(y, x, w, bias, n, k); break;
        case 5: gemv_rows_split2<5>(y, x, w, bias, n, k); break;
        case 6: gemv_rows_split2<6>(y, x, w, bias, n, k); break;
        case 7: gemv_rows_split2<7>(y, x, w, bias, n, k); break;
        default: gemv_rows_split2<8>(y, x, w, bias, n, k); break;
    }
}

// bf16 output, split-K over two warps per column; bias may be null
extern "C" __global__ void __launch_bounds__(128) gemv_bf16_split2(bf16 *y, const bf16 *x, const bf16 *w,
                                                                   const bf16 *bias, int m, int n, int k) {
    gemv_split2_dispatch(y, x, w, bias, m, n, k);
}

// fp32 output, split-K over two warps per column; bias may be null
extern "C" __global__ void __launch_bounds__(128) gemv_f32_split2(float *y, const bf16 *x, const bf16 *w,
                                                                  const bf16 *bias, int m, int n, int k) {
    gemv_split2_dispatch(y, x, w, bias, m, n, k);
}
