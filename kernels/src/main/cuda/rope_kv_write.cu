// RoPE and KV write in one pass over a step's fused [q | k | v] rows: the NeoX rotation of rope.cu (pairs
// (i, i + headDim/2), angle position * invFreq[i]) applied in place to every Q head, and each token's K heads
// rotated and written, with its V heads, straight into the page pool at its slot (kv_write.cu's layout:
// slot = page * pageSize + offset, pool [slots][kvHeads][headDim]; a negative slot writes nothing). The rotated K
// goes only to the pool: every later reader (attention, the layer's KV export) reads K from the pages, so the
// K heads of the fused rows are left as they came. The arithmetic is rope.cu's expression for expression and the
// pool receives the same bf16 values, so the result is bit for bit that of rope_neox followed by kv_write.
// Grid: one block per token.
#include "common.cuh"

extern "C" __global__ void rope_kv_write(bf16 *__restrict__ qkv, int token_stride, int q_heads, int kv_heads,
                                         bf16 *__restrict__ k_cache, bf16 *__restrict__ v_cache,
                                         const int *__restrict__ slots, const int *__restrict__ positions,
                                         const float *__restrict__ inv_freq, int head_dim) {
    const int t = blockIdx.x;
    const int half = head_dim / 2;
    const int slot = slots[t];
    const float pos = static_cast<float>(positions[t]);
    const long long kv_width = static_cast<long long>(kv_heads) * head_dim;
    bf16 *row = qkv + static_cast<long long>(t) * token_stride;
    const bf16 *k_row = row + static_cast<long long>(q_heads) * head_dim;
    const bf16 *v_row = k_row + kv_width;
    // Q pairs first, then K pairs; a padding token (negative slot) still rotates its Q, as rope_neox does
    const int items = (q_heads + (slot >= 0 ? kv_heads : 0)) * half;
    for (int it = threadIdx.x; it < items; it += blockDim.x) {
        const int h = it / half, i = it % half;
        float s, c;
        sincosf(pos * inv_freq[i], &s, &c);
        if (h < q_heads) {
            bf16 *q = row + static_cast<long long>(h) * head_dim;
            const float x1 = __bfloat162float(q[i]), x2 = __bfloat162float(q[i + half]);
            q[i] = __float2bfloat16_rn(x1 * c - x2 * s);
            q[i + half] = __float2bfloat16_rn(x2 * c + x1 * s);
        } else {
            const long long off = static_cast<long long>(h - q_heads) * head_dim;
            const float x1 = __bfloat162float(k_row[off + i]), x2 = __bfloat162float(k_row[off + i + half]);
            bf16 *dst = k_cache + static_cast<long long>(slot) * kv_width + off;
            dst[i] = __float2bfloat16_rn(x1 * c - x2 * s);
            dst[i + half] = __float2bfloat16_rn(x2 * c + x1 * s);
        }
    }
    if (slot < 0) return;
    const uint4 *vs = reinterpret_cast<const uint4 *>(v_row);
    uint4 *vd = reinterpret_cast<uint4 *>(v_cache + static_cast<long long>(slot) * kv_width);
    for (int c = threadIdx.x; c < kv_width / 8; c += blockDim.x) vd[c] = vs[c];
}
