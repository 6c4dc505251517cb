// RMSNorm's row statistic shared by rmsnorm.cu and the GEMVs that fold the norm into their prologue. The fused
// kernels must produce bit for bit what rmsnorm followed by a GEMV produces, so they reproduce rmsnorm's fp32 sum of
// squares exactly: the same per-thread chunk split (rms_threads threads, thread t taking chunks t, t + threads, ...),
// the same in-thread order, the same shuffle tree per warp and the same combination of the warp sums.
#pragma once
#include "common.cuh"

// Threads of rmsnorm's block for a row of `chunks` (at least one) 8-wide chunks; RmsNormKernels.threadsFor says the
// same, and the fused kernels' bit-for-bit tests fail if the two part.
__host__ __device__ __forceinline__ int rms_threads(int chunks) {
    return chunks >= 512 ? 512 : (chunks + 31) / 32 * 32;
}

// Sum of squares of the 8-wide chunks first, first + step, ... below chunks (one thread's share of a row).
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

// 1 / rms of each of the first `m` rows of x (`hidden` wide) into inv[m], computed as rmsnorm's block of
// rms_threads(hidden / 8) threads computes it, by a block of any multiple of 32 threads: thread t plays rmsnorm's
// threads t, t + blockDim.x, ... Every thread of the block must call it; `scratch` holds 8 * 16 floats.
__device__ __forceinline__ void rms_inverse_rows(float *inv, float *scratch, const bf16 *__restrict__ x, int m,
                                                 int hidden, float eps) {
    const int chunks = hidden / 8, threads = rms_threads(chunks), lane = threadIdx.x & 31;
    for (int r = 0; r < m; r++) {
        const uint4 *row = reinterpret_cast<const uint4 *>(x + static_cast<long long>(r) * hidden);
        // warp-uniform: each virtual warp of rmsnorm's block is played by one whole warp here
        for (int first = threadIdx.x - lane; first < threads; first += blockDim.x) {
            const float ss = warp_sum(sum_squares(row, first + lane, chunks, threads));
            if (lane == 0) scratch[r * 16 + (first >> 5)] = ss;
        }
    }
    __syncthreads();
    if (threadIdx.x < 32) {
        for (int r = 0; r < m; r++) {
            const float total = warp_sum(lane < threads / 32 ? scratch[r * 16 + lane] : 0.f);
            if (lane == 0) inv[r] = rsqrtf(total / hidden + eps);
        }
    }
    __syncthreads();
}
