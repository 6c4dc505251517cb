// Shared device helpers for every kernel family: bf16 vectors, warp and block reductions, cp.async and
// mma.sync wrappers. Every kernel file includes this header; the build compiles all kernel files as one
// translation unit, so everything here is guarded and inline.
#pragma once
#include <cuda_bf16.h>
#include <stdint.h>

typedef __nv_bfloat16 bf16;
typedef __nv_bfloat162 bf162;

#define SPLITSERVE_NEG_INF (-__int_as_float(0x7f800000))

__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
    bf162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}

// 8 bf16 values moved as one 16-byte access
union Bf16x8 {
    uint4 raw;
    uint32_t word[4];
};

__device__ __forceinline__ void bf16x8_to_float(const Bf16x8 &v, float *f) {
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 p = __bfloat1622float2(*reinterpret_cast<const bf162 *>(&v.word[i]));
        f[2 * i] = p.x;
        f[2 * i + 1] = p.y;
    }
}

__device__ __forceinline__ Bf16x8 float_to_bf16x8(const float *f) {
    Bf16x8 v;
#pragma unroll
    for (int i = 0; i < 4; i++) v.word[i] = pack_bf16x2(f[2 * i], f[2 * i + 1]);
    return v;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the whole block; `scratch` holds at least 32 floats. Every thread gets the result.
__device__ __forceinline__ float block_sum(float v, float *scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.f;
    return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float *scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : SPLITSERVE_NEG_INF;
    return warp_max(v);
}

// 16-byte global->shared copy that fills zeros when `valid` is false (src must still be a mapped address)
__device__ __forceinline__ void cp_async_16(void *smem, const void *gmem, bool valid) {
    const uint32_t s = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
    const int bytes = valid ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(bytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::); }

// waits for all but the most recently committed cp.async group
__device__ __forceinline__ void cp_async_wait_all_but_newest() { asm volatile("cp.async.wait_group 1;\n" ::); }

// Element offset of (row, 8-element chunk) in a row-major [rows][HD] bf16 tile whose 16-byte chunks are XOR-swizzled
// by row, so the 8 rows an ldmatrix reads at one chunk column fall in 8 different bank groups.
template <int HD>
__device__ __forceinline__ int swz(int row, int chunk) {
    return row * HD + ((chunk ^ (row & 7)) << 3);
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t *r, const void *smem) {
    const uint32_t s = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(s));
}

// the same on 32-bit shared-window addresses, which keep per-lane tile addresses in one register each
__device__ __forceinline__ uint32_t shared_address(const void *smem) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(smem));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t *r, uint32_t s) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(s));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t *r, uint32_t s) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(s));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t *r, const void *smem) {
    const uint32_t s = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(s));
}

// D = A(16x16 bf16, row) * B(16x8 bf16, col) + D, fp32 accumulators
__device__ __forceinline__ void mma_bf16_16816(float *d, const uint32_t *a, uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}


// 2^x on the special-function unit, denormals flushed (2^-inf = 0): one MUFU op, without the denormal fix-ups
// plain exp2f carries; softmax weights that small contribute nothing in fp32 anyway
__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// Page index and offset within the page of `token`; power-of-two pages avoid the integer division
__device__ __forceinline__ void page_position(int token, int page_size, int &page_index, int &in_page) {
    if ((page_size & (page_size - 1)) == 0) {
        page_index = token >> (__ffs(page_size) - 1);
        in_page = token & (page_size - 1);
    } else {
        page_index = token / page_size;
        in_page = token - page_index * page_size;
    }
}

// Element offset of one KV head's row in a paged pool laid out [pages][pageSize][kvHeads][headDim], given the
// physical page that holds it
__device__ __forceinline__ long long paged_row_offset_in(int page, int in_page, int page_size, int kv_heads,
                                                         int kv_head, int head_dim) {
    const long long slot = static_cast<long long>(page) * page_size + in_page;
    return (slot * kv_heads + kv_head) * head_dim;
}

// Element offset of token `token`'s row for one KV head, looked up through the block table
__device__ __forceinline__ long long paged_row_offset(const int *block_table, int token, int page_size, int kv_heads,
                                                      int kv_head, int head_dim) {
    int page_index, in_page;
    page_position(token, page_size, page_index, in_page);
    return paged_row_offset_in(block_table[page_index], in_page, page_size, kv_heads, kv_head, head_dim);
}
