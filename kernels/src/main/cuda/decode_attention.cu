// Decode attention, flash-decoding: one query token per sequence attends over its paged KV.
//
// Pass 1 (decode_attention_partial_hd*): grid (maxSplits, kvHeads, batch), 128 threads. Block (s, g, b) takes
// tokens [s * partition, min(seqLen, (s + 1) * partition)) of sequence b for KV head g and ALL query heads of that
// GQA group at once, so each K/V byte is read from memory once per group. K/V tiles of 64 tokens are gathered
// through the block table (any page size) with cp.async; online softmax keeps a running max and sum per head.
// It writes an unnormalised partial output plus (max, sum) in log2 units; splits past the sequence end write
// nothing. Pass 2 (decode_attention_reduce) merges the partials with the log-sum-exp rule.
// Everything that changes per step (lengths, block tables) is read from device memory, so a step can be
// captured once per batch bucket and replayed.
#include "common.cuh"

#define DEC_THREADS 128
#define DEC_TILE 64
#define DEC_MAX_GROUP 16

template <int HD>
__device__ __forceinline__ void decode_partial(float *__restrict__ part_o, float *__restrict__ part_ml,
                                               const bf16 *__restrict__ q, int q_token_stride,
                                               const bf16 *__restrict__ k_cache, const bf16 *__restrict__ v_cache,
                                               const int *__restrict__ block_tables, int max_blocks,
                                               const int *__restrict__ seq_lens, int page_size, int q_heads,
                                               int kv_heads, int partition, int max_splits, float scale_log2) {
    constexpr int CH = HD / 8;                       // 16-byte chunks per row
    constexpr int DPAIRS = HD / 2;                   // output dims are owned in pairs
    constexpr int HSETS = DEC_THREADS / DPAIRS;      // head sets in the P.V stage
    constexpr int PV_HEADS = DEC_MAX_GROUP / HSETS;  // heads per thread in the P.V stage
    constexpr int S_HEADS = DEC_MAX_GROUP / 2;       // heads per thread in the score stage (2 threads per token)
    __shared__ __align__(16) float q_s[DEC_MAX_GROUP][HD];
    __shared__ __align__(16) bf16 k_s[DEC_TILE][HD + 8];  // padded: threads read different rows at once
    __shared__ __align__(16) bf16 v_s[DEC_TILE][HD];
    __shared__ float p_s[DEC_MAX_GROUP][DEC_TILE];
    __shared__ float m_s[DEC_MAX_GROUP], l_s[DEC_MAX_GROUP], alpha_s[DEC_MAX_GROUP];

    const int split = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
    const int group = q_heads / kv_heads;
    const int seq_len = seq_lens[b];
    const int start = split * partition;
    if (start >= seq_len) return;
    const int end = min(seq_len, start + partition);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int *table = block_tables + static_cast<long long>(b) * max_blocks;

    const bf16 *q_row = q + static_cast<long long>(b) * q_token_stride + static_cast<long long>(kvh) * group * HD;
    for (int i = tid; i < group * CH; i += DEC_THREADS) {
        const int g = i / CH, c = i % CH;
        Bf16x8 v;
        v.raw = *reinterpret_cast<const uint4 *>(q_row + g * HD + c * 8);
        float f[8];
        bf16x8_to_float(v, f);
        float4 *dst = reinterpret_cast<float4 *>(&q_s[g][c * 8]);
        dst[0] = make_float4(f[0], f[1], f[2], f[3]);
        dst[1] = make_float4(f[4], f[5], f[6], f[7]);
    }
    if (tid < group) {
        m_s[tid] = SPLITSERVE_NEG_INF;
        l_s[tid] = 0.f;
    }

    const int dp = tid % DPAIRS, hset = tid / DPAIRS;
    const int st = tid % DEC_TILE, sset = tid / DEC_TILE;
    float acc[PV_HEADS][2];
#pragma unroll
    for (int j = 0; j < PV_HEADS; j++) acc[j][0] = acc[j][1] = 0.f;

    for (int t0 = start; t0 < end; t0 += DEC_TILE) {
        for (int i = tid; i < DEC_TILE * CH; i += DEC_THREADS) {
            const int r = i / CH, c = i % CH, tok = t0 + r;
            const bool valid = tok < end;
            const long long off = valid ? paged_row_offset(table, tok, page_size, kv_heads, kvh, HD) : 0;
            cp_async_16(&k_s[r][c * 8], k_cache + off + c * 8, valid);
            cp_async_16(&v_s[r][c * 8], v_cache + off + c * 8, valid);
        }
        cp_async_commit();
        cp_async_wait_all();
        __syncthreads();

        {  // scores, already in log2 units
            float s[S_HEADS];
#pragma unroll
            for (int j = 0; j < S_HEADS; j++) s[j] = 0.f;
#pragma unroll 4
            for (int c = 0; c < CH; c++) {
                Bf16x8 kv;
                kv.raw = *reinterpret_cast<const uint4 *>(&k_s[st][c * 8]);
                float kf[8];
                bf16x8_to_float(kv, kf);
#pragma unroll
                for (int j = 0; j < S_HEADS; j++) {
                    const int g = sset + 2 * j;
                    if (g < group) {
                        const float4 a = *reinterpret_cast<const float4 *>(&q_s[g][c * 8]);
                        const float4 e = *reinterpret_cast<const float4 *>(&q_s[g][c * 8 + 4]);
                        s[j] += a.x * kf[0] + a.y * kf[1] + a.z * kf[2] + a.w * kf[3] + e.x * kf[4] + e.y * kf[5] +
                                e.z * kf[6] + e.w * kf[7];
                    }
                }
            }
            const bool valid = t0 + st < end;
#pragma unroll
            for (int j = 0; j < S_HEADS; j++) {
                const int g = sset + 2 * j;
                if (g < group) p_s[g][st] = valid ? s[j] * scale_log2 : SPLITSERVE_NEG_INF;
            }
        }
        __syncthreads();

        // online softmax: one warp per head; every processed tile holds at least one valid token
        for (int g = warp; g < group; g += DEC_THREADS / 32) {
            const float a = p_s[g][lane], c = p_s[g][lane + 32];
            const float m_old = m_s[g];
            const float m_new = fmaxf(m_old, warp_max(fmaxf(a, c)));
            const float pa = exp2f(a - m_new), pc = exp2f(c - m_new);
            p_s[g][lane] = pa;
            p_s[g][lane + 32] = pc;
            const float sum = warp_sum(pa + pc);
            if (lane == 0) {
                const float alpha = exp2f(m_old - m_new);
                alpha_s[g] = alpha;
                l_s[g] = l_s[g] * alpha + sum;
                m_s[g] = m_new;
            }
        }
        __syncthreads();

#pragma unroll
        for (int j = 0; j < PV_HEADS; j++) {
            const int g = hset + HSETS * j;
            if (g < group) {
                const float alpha = alpha_s[g];
                acc[j][0] *= alpha;
                acc[j][1] *= alpha;
            }
        }
#pragma unroll 8
        for (int t = 0; t < DEC_TILE; t++) {
            const float2 vf = __bfloat1622float2(*reinterpret_cast<const bf162 *>(&v_s[t][2 * dp]));
#pragma unroll
            for (int j = 0; j < PV_HEADS; j++) {
                const int g = hset + HSETS * j;
                if (g < group) {
                    const float p = p_s[g][t];
                    acc[j][0] += p * vf.x;
                    acc[j][1] += p * vf.y;
                }
            }
        }
        __syncthreads();
    }

    const long long head0 = static_cast<long long>(b) * q_heads + static_cast<long long>(kvh) * group;
#pragma unroll
    for (int j = 0; j < PV_HEADS; j++) {
        const int g = hset + HSETS * j;
        if (g < group) {
            const long long idx = (head0 + g) * max_splits + split;
            *reinterpret_cast<float2 *>(part_o + idx * HD + 2 * dp) = make_float2(acc[j][0], acc[j][1]);
        }
    }
    if (tid < group) {
        const long long idx = (head0 + tid) * max_splits + split;
        part_ml[idx * 2] = m_s[tid];
        part_ml[idx * 2 + 1] = l_s[tid];
    }
}


extern "C" __global__ void __launch_bounds__(DEC_THREADS) decode_attention_partial_hd64(
    float *part_o, float *part_ml, const bf16 *q, int q_token_stride, const bf16 *k_cache, const bf16 *v_cache,
    const int *block_tables, int max_blocks, const int *seq_lens, int page_size, int q_heads, int kv_heads,
    int partition, int max_splits, float scale_log2) {
    decode_partial<64>(part_o, part_ml, q, q_token_stride, k_cache, v_cache, block_tables, max_blocks, seq_lens,
                       page_size, q_heads, kv_heads, partition, max_splits, scale_log2);
}

extern "C" __global__ void __launch_bounds__(DEC_THREADS) decode_attention_partial_hd128(
    float *part_o, float *part_ml, const bf16 *q, int q_token_stride, const bf16 *k_cache, const bf16 *v_cache,
    const int *block_tables, int max_blocks, const int *seq_lens, int page_size, int q_heads, int kv_heads,
    int partition, int max_splits, float scale_log2) {
    decode_partial<128>(part_o, part_ml, q, q_token_stride, k_cache, v_cache, block_tables, max_blocks, seq_lens,
                       page_size, q_heads, kv_heads, partition, max_splits, scale_log2);
}

// Merges the splits of each (sequence, query head): out = sum_s 2^(m_s - M) o_s / sum_s 2^(m_s - M) l_s.
// Grid (qHeads, batch); a sequence of length 0 gets a zero row, so every output element is written.
extern "C" __global__ void decode_attention_reduce(bf16 *__restrict__ out, int out_token_stride,
                                                   const float *__restrict__ part_o,
                                                   const float *__restrict__ part_ml,
                                                   const int *__restrict__ seq_lens, int q_heads, int head_dim,
                                                   int partition, int max_splits) {
    extern __shared__ float weight_s[];
    __shared__ float scratch[32];
    const int h = blockIdx.x, b = blockIdx.y;
    const int splits = min((seq_lens[b] + partition - 1) / partition, max_splits);
    const long long base = (static_cast<long long>(b) * q_heads + h) * max_splits;
    float m = SPLITSERVE_NEG_INF;
    for (int s = threadIdx.x; s < splits; s += blockDim.x) m = fmaxf(m, part_ml[(base + s) * 2]);
    m = block_max(m, scratch);
    float l = 0.f;
    for (int s = threadIdx.x; s < splits; s += blockDim.x) {
        const float w = exp2f(part_ml[(base + s) * 2] - m);
        weight_s[s] = w;
        l += w * part_ml[(base + s) * 2 + 1];
    }
    l = block_sum(l, scratch);  // its barriers also publish weight_s
    const float inv = splits > 0 ? 1.f / l : 0.f;
    bf16 *dst = out + static_cast<long long>(b) * out_token_stride + static_cast<long long>(h) * head_dim;
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float o = 0.f;
        for (int s = 0; s < splits; s++) o += weight_s[s] * part_o[(base + s) * head_dim + d];
        dst[d] = __float2bfloat16_rn(o * inv);
    }
}
