// Decode attention, flash-decoding: one query token per sequence attends over its paged KV.
//
// Pass 1 (decode_attention_partial_hd*): grid (maxSplits, kvHeads, batch), 128 threads = 4 warps. Block (s, g, b)
// takes tokens [s * partition, min(seqLen, (s + 1) * partition)) of sequence b for KV head g and ALL query heads of
// that GQA group at once, so each K/V byte is read from memory once per group. The group's query rows (up to 16,
// zero-padded) form the A operand of bf16 tensor-core products (mma.sync m16n8k16): S = Q.K^T and O += P.V.
// The four warps take 16-token steps in turn and work independently, each with its own online softmax and a
// two-stage cp.async pipeline (the next step's K/V rows, gathered through the block table for any page size,
// load while the current step computes), so the main loop has no block-wide barrier. At the end the warps merge
// their (max, sum, output) in shared memory and the block writes an unnormalised partial output plus
// (max, sum) in log2 units; splits past the sequence end write nothing. The query rows load in the same cp.async
// group as the first K/V step, so a block waits for one memory round trip before its first product, not two.
// When one split covers every sequence (maxSplits == 1) the block normalises and writes the bf16 output itself
// (zeros for an idle slot) and no second pass runs. Otherwise pass 2 (decode_attention_reduce) merges the
// partials with the log-sum-exp rule, its threads spread over splits as well as over the head dimension.
// Everything that changes per step (lengths, block tables) is read from device memory, so a step can be
// captured once per batch bucket and replayed.
#include "common.cuh"

#define DEC_THREADS 128
#define DEC_WARPS 4
#define DEC_STEP 16
#define DEC_MAX_GROUP 16

// Gathers the K and V rows of tokens [t0, t0 + 16) (zero rows at or past `end`) into one warp's stage buffers.
template <int HD>
__device__ __forceinline__ void decode_load_step(bf16 *k_dst, bf16 *v_dst, const bf16 *k_cache, const bf16 *v_cache,
                                                 const int *table, int t0, int end, int page_size, int kv_heads,
                                                 int kvh, int lane) {
    constexpr int CH = HD / 8;
    constexpr int ROWS_PER_PASS = 32 / CH;
    long long row_off = -1;
    if (lane < DEC_STEP && t0 + lane < end) row_off = paged_row_offset(table, t0 + lane, page_size, kv_heads, kvh, HD);
    const int c = lane % CH, r0 = lane / CH;
#pragma unroll
    for (int k = 0; k < DEC_STEP / ROWS_PER_PASS; k++) {
        const int r = r0 + k * ROWS_PER_PASS;
        const long long off = __shfl_sync(0xffffffffu, row_off, r);
        const bool valid = off >= 0;
        const long long src = (valid ? off : 0) + c * 8;
        cp_async_16(k_dst + swz<HD>(r, c), k_cache + src, valid);
        cp_async_16(v_dst + swz<HD>(r, c), v_cache + src, valid);
    }
}

template <int HD>
__device__ __forceinline__ void decode_partial(bf16 *__restrict__ out, int out_token_stride,
                                               float *__restrict__ part_o, float *__restrict__ part_ml,
                                               const bf16 *__restrict__ q, int q_token_stride,
                                               const bf16 *__restrict__ k_cache, const bf16 *__restrict__ v_cache,
                                               const int *__restrict__ block_tables, int max_blocks,
                                               const int *__restrict__ seq_lens, int page_size, int q_heads,
                                               int kv_heads, int partition, int max_splits, float scale_log2) {
    constexpr int CH = HD / 8;
    constexpr int KSTEPS = HD / 16;
    constexpr int DTILES = HD / 8;
    constexpr int STEP_ELEMS = DEC_STEP * HD;        // one K or V step tile
    constexpr int WARP_ELEMS = 2 * 2 * STEP_ELEMS;   // two stages of K and V
    extern __shared__ __align__(128) unsigned char smem_raw[];
    bf16 *q_s = reinterpret_cast<bf16 *>(smem_raw);  // [16][HD], swizzled
    bf16 *kv_s = q_s + 16 * HD;                      // [warps][stage][K | V][16][HD], swizzled
    float *o_s = reinterpret_cast<float *>(kv_s);    // after the main loop: [warps][16][HD]
    float *ml_s = o_s + DEC_WARPS * 16 * HD;         // after the main loop: [warps][16][max, sum]

    const int split = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
    const int group = q_heads / kv_heads;
    const int seq_len = seq_lens[b];
    const int start = split * partition;
    const long long head0 = static_cast<long long>(b) * q_heads + static_cast<long long>(kvh) * group;
    if (start >= seq_len) {
        if (max_splits == 1) {  // the only split of an idle slot: zero rows, so every output element is written
            for (int i = threadIdx.x; i < group * HD; i += DEC_THREADS) {
                out[static_cast<long long>(b) * out_token_stride + (kvh * group + i / HD) * HD + i % HD] =
                    __float2bfloat16_rn(0.f);
            }
        }
        return;
    }
    const int end = min(seq_len, start + partition);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int g = lane >> 2, tq = lane & 3;
    const int *table = block_tables + static_cast<long long>(b) * max_blocks;

    const bf16 *q_row = q + static_cast<long long>(b) * q_token_stride + static_cast<long long>(kvh) * group * HD;
    for (int i = threadIdx.x; i < 16 * CH; i += DEC_THREADS) {
        const int r = i / CH, c = i % CH;
        const bool valid = r < group;
        cp_async_16(q_s + swz<HD>(r, c), q_row + (valid ? r * HD + c * 8 : 0), valid);
    }
    bf16 *mine = kv_s + warp * WARP_ELEMS;
    int t0 = start + warp * DEC_STEP;
    if (t0 < end) decode_load_step<HD>(mine, mine + STEP_ELEMS, k_cache, v_cache, table, t0, end, page_size, kv_heads,
                                       kvh, lane);
    cp_async_commit();  // one group: the query rows and this warp's first step
    cp_async_wait_all();
    __syncthreads();
    uint32_t qf[KSTEPS][4];
#pragma unroll
    for (int ks = 0; ks < KSTEPS; ks++) ldmatrix_x4(qf[ks], q_s + swz<HD>(lane & 15, 2 * ks + (lane >> 4)));

    float o[DTILES][4];
#pragma unroll
    for (int d = 0; d < DTILES; d++) o[d][0] = o[d][1] = o[d][2] = o[d][3] = 0.f;
    float m_row[2] = {SPLITSERVE_NEG_INF, SPLITSERVE_NEG_INF}, l_row[2] = {0.f, 0.f};

    for (int stage = 0; t0 < end; t0 += DEC_WARPS * DEC_STEP, stage ^= 1) {
        const int t_next = t0 + DEC_WARPS * DEC_STEP;
        bf16 *next = mine + (stage ^ 1) * 2 * STEP_ELEMS;
        if (t_next < end) decode_load_step<HD>(next, next + STEP_ELEMS, k_cache, v_cache, table, t_next, end,
                                               page_size, kv_heads, kvh, lane);
        cp_async_commit();
        cp_async_wait_all_but_newest();  // this step's rows have landed (for this lane) ...
        __syncwarp();                    // ... and for every lane of the warp
        const bf16 *k_st = mine + stage * 2 * STEP_ELEMS;
        const bf16 *v_st = k_st + STEP_ELEMS;
        const int mi = lane >> 3;

        float s[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
#pragma unroll
        for (int ks = 0; ks < KSTEPS; ks++) {
            uint32_t kb[4];
            ldmatrix_x4(kb, k_st + swz<HD>((lane & 7) + ((mi >> 1) << 3), 2 * ks + (mi & 1)));
            mma_bf16_16816(s[0], qf[ks], kb[0], kb[1]);
            mma_bf16_16816(s[1], qf[ks], kb[2], kb[3]);
        }
        if (t0 + DEC_STEP > end) {
#pragma unroll
            for (int n = 0; n < 2; n++)
#pragma unroll
                for (int e = 0; e < 4; e++)
                    if (t0 + n * 8 + 2 * tq + (e & 1) >= end) s[n][e] = SPLITSERVE_NEG_INF;
        }
        // online softmax in log2 units; every step holds at least one valid token, so maxima are finite
#pragma unroll
        for (int r = 0; r < 2; r++) {
            float mx = fmaxf(fmaxf(s[0][2 * r], s[0][2 * r + 1]), fmaxf(s[1][2 * r], s[1][2 * r + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            const float m_new = fmaxf(m_row[r], mx * scale_log2);
            const float alpha = exp2f(m_row[r] - m_new);
            m_row[r] = m_new;
            float sum = 0.f;
#pragma unroll
            for (int n = 0; n < 2; n++) {
                s[n][2 * r] = exp2f(fmaf(s[n][2 * r], scale_log2, -m_new));
                s[n][2 * r + 1] = exp2f(fmaf(s[n][2 * r + 1], scale_log2, -m_new));
                sum += s[n][2 * r] + s[n][2 * r + 1];
            }
            l_row[r] = l_row[r] * alpha + sum;  // this thread's columns only; quad-reduced at the end
#pragma unroll
            for (int d = 0; d < DTILES; d++) {
                o[d][2 * r] *= alpha;
                o[d][2 * r + 1] *= alpha;
            }
        }
        uint32_t pf[4] = {pack_bf16x2(s[0][0], s[0][1]), pack_bf16x2(s[0][2], s[0][3]),
                          pack_bf16x2(s[1][0], s[1][1]), pack_bf16x2(s[1][2], s[1][3])};
#pragma unroll
        for (int dp = 0; dp < DTILES / 2; dp++) {
            uint32_t vb[4];
            ldmatrix_x4_trans(vb, v_st + swz<HD>((lane & 7) + ((mi & 1) << 3), 2 * dp + (mi >> 1)));
            mma_bf16_16816(o[2 * dp], pf, vb[0], vb[1]);
            mma_bf16_16816(o[2 * dp + 1], pf, vb[2], vb[3]);
        }
        __syncwarp();  // every lane is done with this stage before it is refilled
    }
    cp_async_wait_all();

#pragma unroll
    for (int r = 0; r < 2; r++) {
        l_row[r] += __shfl_xor_sync(0xffffffffu, l_row[r], 1);
        l_row[r] += __shfl_xor_sync(0xffffffffu, l_row[r], 2);
    }
    __syncthreads();  // all warps are done with their stages: the buffers now hold the merge inputs
    float *ow = o_s + warp * 16 * HD;
#pragma unroll
    for (int d = 0; d < DTILES; d++) {
        *reinterpret_cast<float2 *>(ow + g * HD + d * 8 + 2 * tq) = make_float2(o[d][0], o[d][1]);
        *reinterpret_cast<float2 *>(ow + (g + 8) * HD + d * 8 + 2 * tq) = make_float2(o[d][2], o[d][3]);
    }
    if (tq == 0) {
        ml_s[(warp * 16 + g) * 2] = m_row[0];
        ml_s[(warp * 16 + g) * 2 + 1] = l_row[0];
        ml_s[(warp * 16 + g + 8) * 2] = m_row[1];
        ml_s[(warp * 16 + g + 8) * 2 + 1] = l_row[1];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < group * HD; i += DEC_THREADS) {
        const int row = i / HD, d = i % HD;
        float m = SPLITSERVE_NEG_INF;
#pragma unroll
        for (int w = 0; w < DEC_WARPS; w++) m = fmaxf(m, ml_s[(w * 16 + row) * 2]);
        float l = 0.f, acc = 0.f;
#pragma unroll
        for (int w = 0; w < DEC_WARPS; w++) {
            const float weight = exp2f(ml_s[(w * 16 + row) * 2] - m);  // a warp without tokens weighs 0
            l += weight * ml_s[(w * 16 + row) * 2 + 1];
            acc += weight * o_s[(w * 16 + row) * HD + d];
        }
        if (max_splits == 1) {
            out[static_cast<long long>(b) * out_token_stride + (kvh * group + row) * HD + d] =
                __float2bfloat16_rn(acc / l);
            continue;
        }
        const long long idx = (head0 + row) * max_splits + split;
        part_o[idx * HD + d] = acc;
        if (d == 0) {
            part_ml[idx * 2] = m;
            part_ml[idx * 2 + 1] = l;
        }
    }
}

extern "C" __global__ void __launch_bounds__(DEC_THREADS) decode_attention_partial_hd64(
    bf16 *out, int out_token_stride, float *part_o, float *part_ml, const bf16 *q, int q_token_stride, const bf16 *k_cache, const bf16 *v_cache,
    const int *block_tables, int max_blocks, const int *seq_lens, int page_size, int q_heads, int kv_heads,
    int partition, int max_splits, float scale_log2) {
    decode_partial<64>(out, out_token_stride, part_o, part_ml, q, q_token_stride, k_cache, v_cache, block_tables, max_blocks, seq_lens,
                       page_size, q_heads, kv_heads, partition, max_splits, scale_log2);
}

extern "C" __global__ void __launch_bounds__(DEC_THREADS) decode_attention_partial_hd128(
    bf16 *out, int out_token_stride, float *part_o, float *part_ml, const bf16 *q, int q_token_stride, const bf16 *k_cache, const bf16 *v_cache,
    const int *block_tables, int max_blocks, const int *seq_lens, int page_size, int q_heads, int kv_heads,
    int partition, int max_splits, float scale_log2) {
    decode_partial<128>(out, out_token_stride, part_o, part_ml, q, q_token_stride, k_cache, v_cache, block_tables, max_blocks, seq_lens,
                        page_size, q_heads, kv_heads, partition, max_splits, scale_log2);
}

// Merges the splits of each (sequence, query head): out = sum_s 2^(m_s - M) o_s / sum_s 2^(m_s - M) l_s.
// Grid (qHeads, batch), DEC_REDUCE_THREADS threads: each thread owns 4 output columns (one 16-byte load per split)
// and every (DEC_REDUCE_THREADS * 4 / headDim)-th split, so many splits' loads are in flight at once instead of
// one thread walking every split; the per-thread sums then meet in shared memory. A sequence of length 0 gets a
// zero row, so every output element is written.
#define DEC_REDUCE_THREADS 256
extern "C" __global__ void __launch_bounds__(DEC_REDUCE_THREADS) decode_attention_reduce(
    bf16 *__restrict__ out, int out_token_stride, const float *__restrict__ part_o, const float *__restrict__ part_ml,
    const int *__restrict__ seq_lens, int q_heads, int head_dim, int partition, int max_splits) {
    extern __shared__ float weight_s[];
    __shared__ float scratch[32];
    __shared__ float4 sum_s[DEC_REDUCE_THREADS];
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
    const int vecs = head_dim / 4, v = threadIdx.x % vecs, lanes = DEC_REDUCE_THREADS / vecs;
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll 4
    for (int s = threadIdx.x / vecs; s < splits; s += lanes) {
        const float w = weight_s[s];
        const float4 p = *reinterpret_cast<const float4 *>(part_o + (base + s) * head_dim + 4 * v);
        acc.x = fmaf(w, p.x, acc.x);
        acc.y = fmaf(w, p.y, acc.y);
        acc.z = fmaf(w, p.z, acc.z);
        acc.w = fmaf(w, p.w, acc.w);
    }
    sum_s[threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.x >= vecs) return;
    for (int k = 1; k < lanes; k++) {
        const float4 p = sum_s[k * vecs + v];
        acc.x += p.x;
        acc.y += p.y;
        acc.z += p.z;
        acc.w += p.w;
    }
    const float inv = splits > 0 ? 1.f / l : 0.f;
    bf16 *dst = out + static_cast<long long>(b) * out_token_stride + static_cast<long long>(h) * head_dim + 4 * v;
    dst[0] = __float2bfloat16_rn(acc.x * inv);
    dst[1] = __float2bfloat16_rn(acc.y * inv);
    dst[2] = __float2bfloat16_rn(acc.z * inv);
    dst[3] = __float2bfloat16_rn(acc.w * inv);
}
