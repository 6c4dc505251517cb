// Rotary position embedding, NeoX layout (pairs (i, i + headDim/2)), applied in place to Q and K at each token's
// position. The angle is position * invFreq[i]; invFreq is built once on the host and already carries any
// scaling (Llama 3's included), so one kernel serves every supported model. Grid: one block per token.
#include "common.cuh"

extern "C" __global__ void rope_neox(bf16 *__restrict__ q, int q_token_stride, int q_heads, bf16 *__restrict__ k,
                                     int k_token_stride, int kv_heads, const int *__restrict__ positions,
                                     const float *__restrict__ inv_freq, int head_dim) {
    const int t = blockIdx.x;
    const int half = head_dim / 2;
    const float pos = static_cast<float>(positions[t]);
    const int items = (q_heads + kv_heads) * half;
    for (int it = threadIdx.x; it < items; it += blockDim.x) {
        const int h = it / half, i = it % half;
        bf16 *row = h < q_heads ? q + static_cast<long long>(t) * q_token_stride + static_cast<long long>(h) * head_dim
                                : k + static_cast<long long>(t) * k_token_stride +
                                      static_cast<long long>(h - q_heads) * head_dim;
        float s, c;
        sincosf(pos * inv_freq[i], &s, &c);
        const float x1 = __bfloat162float(row[i]), x2 = __bfloat162float(row[i + half]);
        row[i] = __float2bfloat16_rn(x1 * c - x2 * s);
        row[i + half] = __float2bfloat16_rn(x2 * c + x1 * s);
    }
}
