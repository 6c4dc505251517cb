// Prefill attention, FlashAttention-2 style, for a ragged batch read from the paged KV pool.
//
// Sequence i owns query rows [qStarts[i], qStarts[i+1]); its keys are the kvLens[i] tokens in its block table,
// the queries being the last (qStarts[i+1] - qStarts[i]) of them, so cached prefix pages are attended to without
// being recomputed. Causal: the query at absolute position p sees keys 0..p.
// Grid (qHeads, maxQueryTiles), 128 threads = 4 warps; a block takes 128 query rows of one head (32 per warp, so
// every K/V fragment read from shared memory feeds two tensor-core tiles) and walks 64-token K/V tiles. The head
// is the fast grid index, so the query heads sharing a KV head run side by side (their K/V stays in L2) and each
// sequence's heaviest (last) query tiles are scheduled first. Q.K^T and P.V run on bf16 tensor cores (mma.sync
// m16n8k16 fed by ldmatrix). K and V tiles are gathered through the block table with cp.async, V of tile j (and
// K of tile j + 1) loading while the tensor cores work. The pool row offsets of a tile are computed once per row
// (not per 16-byte chunk) into shared memory, their block-table entries read two tiles ahead so that the read's
// latency hides behind a tile of math. Softmax is online in fp32, in log2 units, exponentials on the ftz fast
// path. Shared tiles are XOR-swizzled in 16-byte chunks so ldmatrix reads are free of bank conflicts. Blocks
// past the batch's real tile count exit at once, so the grid may be sized from an upper bound (sum of tiles <=
// tokens / 128 + batch). Shared memory is dynamic: (128 + 2 * 64) * headDim * 2 bytes plus two slots of 64 row
// offsets (65 KiB at head dim 128), which the launcher allows once per kernel.
#include "common.cuh"

#define PF_THREADS 128
#define PF_BM 128
#define PF_MT 2  // 16-row tensor-core tiles per warp
#define PF_BN 64

// Gathers the 64 K or V rows of one tile into swizzled shared memory; a row offset of -1 (past the sequence)
// fills zeros.
template <int HD>
__device__ __forceinline__ void load_kv_tile(bf16 *dst, const bf16 *cache, const long long *row_off) {
    constexpr int CH = HD / 8;
#pragma unroll 2  // fully unrolled, the offset loads of all rows would stay live beside the accumulators
    for (int k = 0; k < PF_BN * CH / PF_THREADS; k++) {
        const int i = threadIdx.x + k * PF_THREADS, r = i / CH, c = i % CH;
        const long long off = row_off[r];
        const bool valid = off >= 0;
        cp_async_16(dst + swz<HD>(r, c), cache + (valid ? off : 0) + c * 8, valid);
    }
}

template <int HD>
__device__ __forceinline__ void prefill_attention(bf16 *__restrict__ out, int out_token_stride,
                                                  const bf16 *__restrict__ q, int q_token_stride,
                                                  const bf16 *__restrict__ k_cache, const bf16 *__restrict__ v_cache,
                                                  const int *__restrict__ q_starts, const int *__restrict__ kv_lens,
                                                  const int *__restrict__ block_tables, int max_blocks, int batch,
                                                  int page_size, int q_heads, int kv_heads, float scale_log2) {
    constexpr int CH = HD / 8;
    constexpr int KSTEPS = HD / 16;  // k-steps of Q.K^T
    constexpr int DTILES = HD / 8;   // 8-wide output column tiles
    constexpr int NTILES = PF_BN / 8;
    constexpr int TILE_ELEMS = PF_BN * HD;
    extern __shared__ __align__(128) unsigned char smem_raw[];
    bf16 *q_s = reinterpret_cast<bf16 *>(smem_raw);
    bf16 *k_s = q_s + PF_BM * HD;
    bf16 *v_s = k_s + TILE_ELEMS;
    long long *off_s = reinterpret_cast<long long *>(v_s + TILE_ELEMS);  // [tile & 1][PF_BN] pool row offsets

    // find this block's (sequence, query tile), the last tile of each sequence first
    int tile = blockIdx.y, seq = -1;
    for (int s = 0; s < batch; s++) {
        const int tiles = (q_starts[s + 1] - q_starts[s] + PF_BM - 1) / PF_BM;
        if (tile < tiles) {
            seq = s;
            tile = tiles - 1 - tile;
            break;
        }
        tile -= tiles;
    }
    if (seq < 0) return;
    const int h = blockIdx.x, kvh = h / (q_heads / kv_heads);
    const int q_begin = q_starts[seq], q_len = q_starts[seq + 1] - q_begin;
    const int kv_len = kv_lens[seq];
    const int prefix = kv_len - q_len;  // absolute position of query row 0
    const int row0 = tile * PF_BM;
    const int *table = block_tables + static_cast<long long>(seq) * max_blocks;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int last_row = min(row0 + PF_BM, q_len) - 1;
    const int n_tiles = (prefix + last_row + 1 + PF_BN - 1) / PF_BN;

    // row offsets of tiles 0 and 1 (one row per thread), then Q and K of tile 0 as one cp.async group
    {
        const int tok = threadIdx.x;  // PF_THREADS == 2 * PF_BN: tile threadIdx.x / PF_BN, row threadIdx.x % PF_BN
        off_s[threadIdx.x] = tok < kv_len ? paged_row_offset(table, tok, page_size, kv_heads, kvh, HD) : -1;
    }
    for (int i = threadIdx.x; i < PF_BM * CH; i += PF_THREADS) {
        const int r = i / CH, c = i % CH;
        const bool valid = row0 + r < q_len;
        const long long off = valid ? static_cast<long long>(q_begin + row0 + r) * q_token_stride +
                                          static_cast<long long>(h) * HD + c * 8
                                    : 0;
        cp_async_16(q_s + swz<HD>(r, c), q + off, valid);
    }
    __syncthreads();
    load_kv_tile<HD>(k_s, k_cache, off_s);
    cp_async_commit();
    cp_async_wait_all();
    __syncthreads();

    float o[PF_MT][DTILES][4];
#pragma unroll
    for (int mt = 0; mt < PF_MT; mt++)
#pragma unroll
        for (int d = 0; d < DTILES; d++) o[mt][d][0] = o[mt][d][1] = o[mt][d][2] = o[mt][d][3] = 0.f;
    float m_row[PF_MT][2], l_row[PF_MT][2];
#pragma unroll
    for (int mt = 0; mt < PF_MT; mt++) {
        m_row[mt][0] = m_row[mt][1] = SPLITSERVE_NEG_INF;
        l_row[mt][0] = l_row[mt][1] = 0.f;
    }

    const int g = lane >> 2, tq = lane & 3;
    const int warp_row0 = row0 + warp * (16 * PF_MT);
    const int warp_first_pos = prefix + warp_row0;

    // Per-lane ldmatrix byte offsets. A lane reads chunk 2k + bit of a row whose low 3 bits are lane & 7, so the
    // swizzled chunk of k and k + 4 differ by a constant 8 chunks (128 bytes): four registers per operand cover
    // every k, the rest is immediate offsets.
    const int mi = lane >> 3, r7 = lane & 7;
    uint32_t q_addr[4], k_addr[4], v_addr[4];
    const uint32_t q_base = shared_address(q_s) + (warp * 16 * PF_MT + (lane & 15)) * HD * 2;
#pragma unroll
    for (int k4 = 0; k4 < 4; k4++) {
        q_addr[k4] = q_base + (((2 * k4 + (lane >> 4)) ^ r7) << 4);
        k_addr[k4] = (r7 + ((mi >> 1) << 3)) * HD * 2 + (((2 * k4 + (mi & 1)) ^ r7) << 4);
        v_addr[k4] = (r7 + ((mi & 1) << 3)) * HD * 2 + (((2 * k4 + (mi >> 1)) ^ r7) << 4);
    }

    const uint32_t k_st = shared_address(k_s), v_st = shared_address(v_s);
    for (int j = 0; j < n_tiles; j++) {
        const int kv0 = j * PF_BN;
        load_kv_tile<HD>(v_s, v_cache, off_s + (j & 1) * PF_BN);
        cp_async_commit();
        // block-table entry of this thread's row of tile j + 2: read now, used after the tile's math
        int ahead_page = -1;
        if (threadIdx.x < PF_BN && j + 2 < n_tiles && kv0 + 2 * PF_BN + threadIdx.x < kv_len) {
            int page_index, in_page;
            page_position(kv0 + 2 * PF_BN + threadIdx.x, page_size, page_index, in_page);
            ahead_page = table[page_index];
        }

        float s[PF_MT][NTILES][4];
#pragma unroll
        for (int mt = 0; mt < PF_MT; mt++)
#pragma unroll
            for (int n = 0; n < NTILES; n++) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.f;
#pragma unroll
        for (int ks = 0; ks < KSTEPS; ks++) {
            uint32_t qf[PF_MT][4];
#pragma unroll
            for (int mt = 0; mt < PF_MT; mt++) ldmatrix_x4(qf[mt], q_addr[ks & 3] + mt * 16 * HD * 2 + (ks >> 2) * 128);
#pragma unroll
            for (int np = 0; np < NTILES / 2; np++) {
                uint32_t b[4];
                ldmatrix_x4(b, k_st + k_addr[ks & 3] + np * 16 * HD * 2 + (ks >> 2) * 128);
#pragma unroll
                for (int mt = 0; mt < PF_MT; mt++) {
                    mma_bf16_16816(s[mt][2 * np], qf[mt], b[0], b[1]);
                    mma_bf16_16816(s[mt][2 * np + 1], qf[mt], b[2], b[3]);
                }
            }
        }

        const bool needs_mask = kv0 + PF_BN - 1 > warp_first_pos;
        uint32_t pf[PF_MT][PF_BN / 16][4];
#pragma unroll
        for (int mt = 0; mt < PF_MT; mt++) {
            const int pos_lo = warp_first_pos + mt * 16 + g;  // absolute positions of this thread's two rows
            if (needs_mask) {
#pragma unroll
                for (int n = 0; n < NTILES; n++) {
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        if (kv0 + n * 8 + 2 * tq + (e & 1) > pos_lo + (e < 2 ? 0 : 8)) s[mt][n][e] = SPLITSERVE_NEG_INF;
                    }
                }
            }
            // online softmax per row in log2 units (scores scaled inside exp2): the 4 threads of a quad share a row
            float alpha[2];
#pragma unroll
            for (int r = 0; r < 2; r++) {
                float mx = SPLITSERVE_NEG_INF;
#pragma unroll
                for (int n = 0; n < NTILES; n++) mx = fmaxf(mx, fmaxf(s[mt][n][2 * r], s[mt][n][2 * r + 1]));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                const float m_new = fmaxf(m_row[mt][r], mx * scale_log2);
                const float m_use = m_new == SPLITSERVE_NEG_INF ? 0.f : m_new;
                alpha[r] = fast_exp2(m_row[mt][r] - m_use);
                m_row[mt][r] = m_new;
                float sum = 0.f;
#pragma unroll
                for (int n = 0; n < NTILES; n++) {
                    s[mt][n][2 * r] = fast_exp2(fmaf(s[mt][n][2 * r], scale_log2, -m_use));
                    s[mt][n][2 * r + 1] = fast_exp2(fmaf(s[mt][n][2 * r + 1], scale_log2, -m_use));
                    sum += s[mt][n][2 * r] + s[mt][n][2 * r + 1];
                }
                l_row[mt][r] = l_row[mt][r] * alpha[r] + sum;  // this thread's columns only; quad-reduced at the end
            }
#pragma unroll
            for (int d = 0; d < DTILES; d++) {
                o[mt][d][0] *= alpha[0];
                o[mt][d][1] *= alpha[0];
                o[mt][d][2] *= alpha[1];
                o[mt][d][3] *= alpha[1];
            }
#pragma unroll
            for (int kk = 0; kk < PF_BN / 16; kk++) {
                pf[mt][kk][0] = pack_bf16x2(s[mt][2 * kk][0], s[mt][2 * kk][1]);
                pf[mt][kk][1] = pack_bf16x2(s[mt][2 * kk][2], s[mt][2 * kk][3]);
                pf[mt][kk][2] = pack_bf16x2(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
                pf[mt][kk][3] = pack_bf16x2(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
            }
        }

        cp_async_wait_all();  // V of tile j has landed
        __syncthreads();      // ... for every thread, every warp is done reading K of tile j, and every thread has
                              // issued tile j's V load from offset slot j & 1
        if (j + 1 < n_tiles) {
            load_kv_tile<HD>(k_s, k_cache, off_s + ((j + 1) & 1) * PF_BN);
            cp_async_commit();
        }
#pragma unroll
        for (int kk = 0; kk < PF_BN / 16; kk++) {
#pragma unroll
            for (int dp = 0; dp < DTILES / 2; dp++) {
                uint32_t b[4];
                ldmatrix_x4_trans(b, v_st + v_addr[dp & 3] + kk * 16 * HD * 2 + (dp >> 2) * 128);
#pragma unroll
                for (int mt = 0; mt < PF_MT; mt++) {
                    mma_bf16_16816(o[mt][2 * dp], pf[mt][kk], b[0], b[1]);
                    mma_bf16_16816(o[mt][2 * dp + 1], pf[mt][kk], b[2], b[3]);
                }
            }
        }
        if (threadIdx.x < PF_BN && j + 2 < n_tiles) {  // slot j & 1 takes tile j + 2's row offsets
            int page_index, in_page;
            page_position(kv0 + 2 * PF_BN + threadIdx.x, page_size, page_index, in_page);
            off_s[(j & 1) * PF_BN + threadIdx.x] =
                ahead_page >= 0 ? paged_row_offset_in(ahead_page, in_page, page_size, kv_heads, kvh, HD) : -1;
        }
        cp_async_wait_all();  // K of tile j + 1 has landed
        __syncthreads();      // ... for every thread, every warp is done reading V of tile j, and the offsets are out
    }

#pragma unroll
    for (int mt = 0; mt < PF_MT; mt++) {
#pragma unroll
        for (int r = 0; r < 2; r++) {
            float l = l_row[mt][r];
            l += __shfl_xor_sync(0xffffffffu, l, 1);
            l += __shfl_xor_sync(0xffffffffu, l, 2);
            const int row = warp_row0 + mt * 16 + g + 8 * r;
            if (row >= q_len) continue;
            const float inv = 1.f / l;
            bf16 *dst = out + static_cast<long long>(q_begin + row) * out_token_stride + static_cast<long long>(h) * HD;
#pragma unroll
            for (int d = 0; d < DTILES; d++) {
                *reinterpret_cast<bf162 *>(dst + d * 8 + 2 * tq) =
                    __floats2bfloat162_rn(o[mt][d][2 * r] * inv, o[mt][d][2 * r + 1] * inv);
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(PF_THREADS) prefill_attention_hd64(
    bf16 *out, int out_token_stride, const bf16 *q, int q_token_stride, const bf16 *k_cache, const bf16 *v_cache,
    const int *q_starts, const int *kv_lens, const int *block_tables, int max_blocks, int batch, int page_size,
    int q_heads, int kv_heads, float scale_log2) {
    prefill_attention<64>(out, out_token_stride, q, q_token_stride, k_cache, v_cache, q_starts, kv_lens, block_tables,
                          max_blocks, batch, page_size, q_heads, kv_heads, scale_log2);
}

extern "C" __global__ void __launch_bounds__(PF_THREADS) prefill_attention_hd128(
    bf16 *out, int out_token_stride, const bf16 *q, int q_token_stride, const bf16 *k_cache, const bf16 *v_cache,
    const int *q_starts, const int *kv_lens, const int *block_tables, int max_blocks, int batch, int page_size,
    int q_heads, int kv_heads, float scale_log2) {
    prefill_attention<128>(out, out_token_stride, q, q_token_stride, k_cache, v_cache, q_starts, kv_lens, block_tables,
                           max_blocks, batch, page_size, q_heads, kv_heads, scale_log2);
}
