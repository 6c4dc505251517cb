// RMSNorm family: plain, fused residual-add + norm, and per-head (Qwen3 q/k) norm. Statistics in fp32.
// Grid: one block per row (per token, or per token-head for the per-head norm); rows are multiples of 8 wide.
#include "common.cuh"

// Sum of squares of the 8-wide chunks first, first + step, ... below chunks (this thread's share of a row).
__device__ __forceinline__ float sum_squares(const uint4 *__restrict__ in, int first, int chunks, int step) {
    float ss = 0.f;
    for (int c = first; c < chunks; c += step) {
        Bf16x8 v;
        v.raw = in[c];
        float f[8];
        bf16x8_to_float(v, f);
#pragma unroll
        for (int i = 0; i < 8; i++) ss += f[i] * f[i];
    }
    return ss;
}

// out = in * inv * w over this thread's chunks of a row (out may alias in).
__device__ __forceinline__ void scale_store(uint4 *out, const uint4 *in, const uint4 *__restrict__ w, float inv,
                                           int first, int chunks, int step) {
    for (int c = first; c < chunks; c += step) {
        Bf16x8 v, g;
        v.raw = in[c];
        g.raw = w[c];
        float f[8], gf[8];
        bf16x8_to_float(v, f);
        bf16x8_to_float(g, gf);
#pragma unroll
        for (int i = 0; i < 8; i++) f[i] = f[i] * inv * gf[i];
        out[c] = float_to_bf16x8(f).raw;
    }
}

// out[r] = x[r] / rms(x[r]) * w
extern "C" __global__ void rmsnorm(bf16 *__restrict__ out, const bf16 *__restrict__ x, const bf16 *__restrict__ w,
                                   int hidden, float eps) {
    __shared__ float scratch[32];
    const long long row = static_cast<long long>(blockIdx.x) * hidden;
    const uint4 *xv = reinterpret_cast<const uint4 *>(x + row);
    const uint4 *wv = reinterpret_cast<const uint4 *>(w);
    uint4 *ov = reinterpret_cast<uint4 *>(out + row);
    const float ss = sum_squares(xv, threadIdx.x, hidden / 8, blockDim.x);
    const float inv = rsqrtf(block_sum(ss, scratch) / hidden + eps);
    scale_store(ov, xv, wv, inv, threadIdx.x, hidden / 8, blockDim.x);
}

// residual[r] += x[r] (rounded to bf16, as the next layer sees it); out[r] = rmsnorm(residual[r]) * w
extern "C" __global__ void add_rmsnorm(bf16 *__restrict__ out, bf16 *__restrict__ residual,
                                       const bf16 *__restrict__ x, const bf16 *__restrict__ w, int hidden,
                                       float eps) {
    __shared__ float scratch[32];
    const long long row = static_cast<long long>(blockIdx.x) * hidden;
    const uint4 *xv = reinterpret_cast<const uint4 *>(x + row);
    uint4 *rv = reinterpret_cast<uint4 *>(residual + row);
    const uint4 *wv = reinterpret_cast<const uint4 *>(w);
    uint4 *ov = reinterpret_cast<uint4 *>(out + row);
    float ss = 0.f;
    for (int c = threadIdx.x; c < hidden / 8; c += blockDim.x) {
        Bf16x8 a, b;
        a.raw = xv[c];
        b.raw = rv[c];
        float fa[8], fb[8];
        bf16x8_to_float(a, fa);
        bf16x8_to_float(b, fb);
#pragma unroll
        for (int i = 0; i < 8; i++) fa[i] += fb[i];
        Bf16x8 sum = float_to_bf16x8(fa);
        rv[c] = sum.raw;
        bf16x8_to_float(sum, fa);
#pragma unroll
        for (int i = 0; i < 8; i++) ss += fa[i] * fa[i];
    }
    const float inv = rsqrtf(block_sum(ss, scratch) / hidden + eps);
    scale_store(ov, rv, wv, inv, threadIdx.x, hidden / 8, blockDim.x);
}

// In place: every head row x[t][h][:] (rows `token_stride` elements apart per token) is normalised with the
// shared per-head weight w[headDim]. One warp per head row; grid (tokens), block (heads * 32) capped by caller.
extern "C" __global__ void head_rmsnorm(bf16 *__restrict__ x, int token_stride, int heads,
                                        const bf16 *__restrict__ w, int head_dim, float eps) {
    const int lane = threadIdx.x & 31;
    const int warps = blockDim.x >> 5;
    const uint4 *wv = reinterpret_cast<const uint4 *>(w);
    for (int h = threadIdx.x >> 5; h < heads; h += warps) {
        uint4 *row = reinterpret_cast<uint4 *>(x + static_cast<long long>(blockIdx.x) * token_stride +
                                               static_cast<long long>(h) * head_dim);
        const float inv = rsqrtf(warp_sum(sum_squares(row, lane, head_dim / 8, 32)) / head_dim + eps);
        scale_store(row, row, wv, inv, lane, head_dim / 8, 32);
    }
}
