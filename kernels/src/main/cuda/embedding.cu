// Embedding gather: out[t] = table[tokenIds[t]] for a batch of tokens. Grid: one block per token.
// Ids outside [0, vocab) produce a zero row, so a bad id can never read outside the table.
#include "common.cuh"

extern "C" __global__ void embedding_gather(bf16 *__restrict__ out, const bf16 *__restrict__ table,
                                            const int *__restrict__ token_ids, int hidden, int vocab) {
    const int t = blockIdx.x;
    const int id = token_ids[t];
    const bool valid = id >= 0 && id < vocab;
    const uint4 *src = reinterpret_cast<const uint4 *>(table + static_cast<long long>(valid ? id : 0) * hidden);
    uint4 *dst = reinterpret_cast<uint4 *>(out + static_cast<long long>(t) * hidden);
    for (int c = threadIdx.x; c < hidden / 8; c += blockDim.x) dst[c] = valid ? src[c] : make_uint4(0, 0, 0, 0);
}
