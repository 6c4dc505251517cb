// KV write: scatter one step's K and V rows into the page pool through the slot mapping
// (slot = page * pageSize + offset; pool laid out [slots][kvHeads][headDim]). A negative slot marks a padding
// token and writes nothing. Grid: one block per token.
#include "common.cuh"

extern "C" __global__ void kv_write(bf16 *__restrict__ k_cache, bf16 *__restrict__ v_cache,
                                    const bf16 *__restrict__ k, const bf16 *__restrict__ v, int token_stride,
                                    const int *__restrict__ slots, int kv_width) {
    const int t = blockIdx.x;
    const int slot = slots[t];
    if (slot < 0) return;
    const uint4 *ks = reinterpret_cast<const uint4 *>(k + static_cast<long long>(t) * token_stride);
    const uint4 *vs = reinterpret_cast<const uint4 *>(v + static_cast<long long>(t) * token_stride);
    uint4 *kd = reinterpret_cast<uint4 *>(k_cache + static_cast<long long>(slot) * kv_width);
    uint4 *vd = reinterpret_cast<uint4 *>(v_cache + static_cast<long long>(slot) * kv_width);
    for (int c = threadIdx.x; c < kv_width / 8; c += blockDim.x) {
        kd[c] = ks[c];
        vd[c] = vs[c];
    }
}
