// KV page copy, the copy on write of cached KV: copy c, copies[3c .. 3c + 2] = (source page, destination page, rows),
// copies the leading `rows` slots of the source page into the destination page, for K and V of every layer, all in
// one launch. layer_pools holds the address of every layer part's pool, K of layer 0, V of layer 0, K of layer 1, ...
// (each [pages][page_size][kv_width] bf16). A page's rows are contiguous, so one copy of one part is a single run of
// rows * kv_width elements, moved 16 bytes at a time (kv_width is a multiple of 8). Destinations are distinct and
// never a source, so blocks never race. Grid: x = copy, y = layer part.
#include "common.cuh"

extern "C" __global__ void kv_copy_pages(const unsigned long long *__restrict__ layer_pools,
                                         const int *__restrict__ copies, int page_size, int kv_width) {
    const int c = blockIdx.x;
    const long long page_elements = static_cast<long long>(page_size) * kv_width;
    const int source = copies[3 * c];
    const int destination = copies[3 * c + 1];
    const int rows = copies[3 * c + 2];
    bf16 *pool = reinterpret_cast<bf16 *>(layer_pools[blockIdx.y]);
    const uint4 *src = reinterpret_cast<const uint4 *>(pool + source * page_elements);
    uint4 *dst = reinterpret_cast<uint4 *>(pool + destination * page_elements);
    const int vectors = rows * (kv_width / 8);
    for (int i = threadIdx.x; i < vectors; i += blockDim.x) {
        dst[i] = src[i];
    }
}
