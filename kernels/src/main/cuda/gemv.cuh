// The weight-streaming GEMV every decode linear runs, for a few rows (1 <= m <= 8): output column n of row m is
// x[m] . w[n] (+ bias[n]), w row-major [n][k] bf16, fp32 accumulation, each weight byte read once. One template
// serves the plain linear (gemv.cu), the residual-add epilogue (gemv_add_residual.cu), the SwiGLU pair
// (gemv_swiglu.cu) and their forms with RMSNorm folded into the prologue (rmsnorm_gemv*.cu).
//
// Launch variant (chosen per shape by GemvTuning on the host, so a tuned choice is data, not code):
//   blockDim.x = 32 * warps per block;
//   split = warps that share one group of columns (split-K): warp s of a group takes chunks 32 s + lane,
//           32 (s + split) + lane, ...; the group's partial sums are added in warp order through shared memory, no
//           atomics, so a result is the same run to run. split = 1 is the classic one warp per column, whose per-lane
//           order (chunks lane, lane + 32, ...; fp32 fma per element; warp_sum) every unsplit form keeps, so they agree
//           bit for bit whatever the warps per block and columns per warp are;
//   COLS = weight rows one warp streams side by side (more bytes in flight per warp, x loaded once for them).
// Grid: ceil(groups / (warps / split)) blocks; k is a multiple of 8.
#pragma once
#include "common.cuh"
#include "rms_row.cuh"

#define GEMV_MAX_ROWS 8
#define GEMV_MAX_WARPS 8
#define GEMV_MAX_COLS 2

// Where the x rows come from: as they are, or RMS-normalised on the fly. A normalised value is rounded to bf16 as
// rmsnorm.cu stores it, so the GEMV sees exactly the row an rmsnorm launch would have written.
struct GemvRows {
    const bf16 *x;
    const bf16 *norm;  // null: no norm
    const float *inv;  // 1 / rms per row (shared memory) when norm is set
};

// Shared memory of one GEMV block, declared once per kernel (not per instantiation) so it stays small.
struct GemvShared {
    float inv[GEMV_MAX_ROWS];                                    // 1 / rms per row, folded-norm forms only
    float scratch[GEMV_MAX_ROWS * 16];                           // the rms statistics' warp sums
    float partial[GEMV_MAX_WARPS][GEMV_MAX_COLS * GEMV_MAX_ROWS];  // split-K partial sums per warp
};

// Accumulates this warp's share of the dot products of the NC weight rows wr[] with the M x rows.
template <int M, int NC, bool NORM>
__device__ __forceinline__ void gemv_accumulate(float (&acc)[NC][M], const uint4 *const (&wr)[NC], const GemvRows &in,
                                                int first, int step, int chunks) {
    const uint4 *xr = reinterpret_cast<const uint4 *>(in.x);
    const uint4 *nr = reinterpret_cast<const uint4 *>(in.norm);
#pragma unroll
    for (int j = 0; j < NC; j++)
#pragma unroll
        for (int m = 0; m < M; m++) acc[j][m] = 0.f;
#pragma unroll(8 / NC)
    for (int c = first; c < chunks; c += step) {
        float wf[NC][8];
#pragma unroll
        for (int j = 0; j < NC; j++) {
            Bf16x8 wv;
            wv.raw = __ldg(wr[j] + c);
            bf16x8_to_float(wv, wf[j]);
        }
        float nf[8];
        if constexpr (NORM) {
            Bf16x8 nv;
            nv.raw = __ldg(nr + c);
            bf16x8_to_float(nv, nf);
        }
#pragma unroll
        for (int m = 0; m < M; m++) {
            Bf16x8 xv;
            xv.raw = __ldg(xr + static_cast<long long>(m) * chunks + c);
            float xf[8];
            bf16x8_to_float(xv, xf);
            if constexpr (NORM) {
                const float inv = in.inv[m];
#pragma unroll
                for (int i = 0; i < 8; i++) xf[i] = __bfloat162float(__float2bfloat16_rn(xf[i] * inv * nf[i]));
            }
#pragma unroll
            for (int j = 0; j < NC; j++)
#pragma unroll
                for (int i = 0; i < 8; i++) acc[j][m] = fmaf(wf[j][i], xf[i], acc[j][m]);
        }
    }
}

// Runs one block of the GEMV. Warp group g (of `groups`) streams weight rows row_of(g, j) for j < NC; the full sums
// go to epilogue(m, g, sums), called by one lane per group for each row m. NORM: x is RMS-normalised with the
// weight `norm` first (every thread of the block takes part in the statistics, so none leaves before them).
template <int M, int NC, bool NORM, typename RowOf, typename Epilogue>
__device__ __forceinline__ void gemv_block(GemvShared &smem, const bf16 *__restrict__ x, const bf16 *__restrict__ norm,
                                           float eps, const bf16 *__restrict__ w, int groups, int k, int split,
                                           RowOf row_of, Epilogue epilogue) {
    if constexpr (NORM) rms_inverse_rows(smem.inv, smem.scratch, x, M, k, eps);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int sub = warp % split;
    const int g = (blockIdx.x * (blockDim.x >> 5) + warp) / split;
    const bool active = g < groups;
    const int chunks = k >> 3;
    const uint4 *wr[NC];
#pragma unroll
    for (int j = 0; j < NC; j++) {
        wr[j] = reinterpret_cast<const uint4 *>(w + static_cast<long long>(row_of(active ? g : 0, j)) * k);
    }
    const GemvRows in{x, norm, smem.inv};
    float sums[NC][M];
    gemv_accumulate<M, NC, NORM>(sums, wr, in, active ? 32 * sub + lane : chunks, 32 * split, chunks);
#pragma unroll
    for (int j = 0; j < NC; j++)
#pragma unroll
        for (int m = 0; m < M; m++) sums[j][m] = warp_sum(sums[j][m]);
    if (split > 1) {  // the same for the whole launch: every warp reaches the barrier
        if (lane == 0) {
#pragma unroll
            for (int j = 0; j < NC; j++)
#pragma unroll
                for (int m = 0; m < M; m++) smem.partial[warp][j * M + m] = sums[j][m];
        }
        __syncthreads();
        if (sub != 0) return;
        for (int s = 1; s < split; s++) {
#pragma unroll
            for (int j = 0; j < NC; j++)
#pragma unroll
                for (int m = 0; m < M; m++) sums[j][m] += smem.partial[warp + s][j * M + m];
        }
    }
    if (!active || lane != 0) return;
#pragma unroll
    for (int m = 0; m < M; m++) epilogue(m, g, sums);
}

// Calls `body.template run<M>()` for the launch's row count.
template <typename Body>
__device__ __forceinline__ void gemv_for_rows(int m, const Body &body) {
    switch (m) {
        case 1: body.template run<1>(); break;
        case 2: body.template run<2>(); break;
        case 3: body.template run<3>(); break;
        case 4: body.template run<4>(); break;
        case 5: body.template run<5>(); break;
        case 6: body.template run<6>(); break;
        case 7: body.template run<7>(); break;
        default: body.template run<8>(); break;
    }
}

// Weight rows of the plain and folded-norm forms: group g streams columns g * COLS ... g * COLS + COLS - 1 (clamped
// to n - 1 where COLS does not divide n; a clamped column's sum is not stored).
template <int COLS>
struct AdjacentColumns {
    int n;
    __device__ __forceinline__ int operator()(int g, int j) const { return min(g * COLS + j, n - 1); }
};

// y[m][col] = sum + bias[col] as Out (bf16 rounds to nearest even), for the plain and the folded-norm forms
template <int COLS, typename Out>
struct StoreColumns {
    Out *y;
    const bf16 *bias;
    int n;
    template <int NC, int M>
    __device__ __forceinline__ void operator()(int m, int g, const float (&sums)[NC][M]) const {
#pragma unroll
        for (int j = 0; j < NC; j++) {
            const int col = g * COLS + j;
            if (col >= n) return;
            const float b = bias != nullptr ? __bfloat162float(bias[col]) : 0.f;
            y[static_cast<long long>(m) * n + col] = static_cast<Out>(sums[j][m] + b);
        }
    }
};
