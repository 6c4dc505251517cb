// SiLU-and-mul over a fused [gate | up] projection: out[t][i] = silu(gate[t][i]) * up[t][i].
// Grid: one block per token; the intermediate size is a multiple of 8.
#include "common.cuh"

extern "C" __global__ void silu_and_mul(bf16 *__restrict__ out, const bf16 *__restrict__ gate_up, int inter) {
    const long long t = blockIdx.x;
    const uint4 *g = reinterpret_cast<const uint4 *>(gate_up + t * 2 * inter);
    const uint4 *u = reinterpret_cast<const uint4 *>(gate_up + t * 2 * inter + inter);
    uint4 *o = reinterpret_cast<uint4 *>(out + t * inter);
    for (int c = threadIdx.x; c < inter / 8; c += blockDim.x) {
        Bf16x8 gv, uv;
        gv.raw = g[c];
        uv.raw = u[c];
        float gf[8], uf[8];
        bf16x8_to_float(gv, gf);
        bf16x8_to_float(uv, uf);
#pragma unroll
        for (int i = 0; i < 8; i++) gf[i] = gf[i] / (1.f + __expf(-gf[i])) * uf[i];
        o[c] = float_to_bf16x8(gf).raw;
    }
}

// y[r][:] += bias[:] for row-major [rows][n] (n a multiple of 8); grid: one block per row
extern "C" __global__ void bias_add(bf16 *__restrict__ y, const bf16 *__restrict__ bias, int n) {
    uint4 *row = reinterpret_cast<uint4 *>(y + static_cast<long long>(blockIdx.x) * n);
    const uint4 *b = reinterpret_cast<const uint4 *>(bias);
    for (int c = threadIdx.x; c < n / 8; c += blockDim.x) {
        Bf16x8 yv, bv;
        yv.raw = row[c];
        bv.raw = b[c];
        float yf[8], bf[8];
        bf16x8_to_float(yv, yf);
        bf16x8_to_float(bv, bf);
#pragma unroll
        for (int i = 0; i < 8; i++) yf[i] += bf[i];
        row[c] = float_to_bf16x8(yf).raw;
    }
}
