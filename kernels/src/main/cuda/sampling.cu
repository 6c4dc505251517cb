// Token selection on the GPU, so a decode step never copies logits to the host.
//
// One block per sequence over fp32 logits. temperature <= 0 selects the argmax (lowest index on ties).
// Otherwise the kept set is every token whose logit reaches the largest of three thresholds: top-k (the k-th
// largest logit, ties kept), top-p (the smallest high-logit set whose softmax mass reaches p of the top-k set's),
// and min-p (probability at least minP times the top token's). Thresholds are found by bisection over the
// order-preserving integer image of the float logits, so they are exact and need no sort. A token is then drawn
// from softmax(logit / temperature) restricted to the kept set by the Gumbel-max rule, with noise from a
// counter-based hash of (seed, counter, token): each sequence has its own reproducible stream, and the kernel
// advances the sequence's counter itself, so a captured graph draws fresh tokens on every replay.
//
// The engine's CPU Sampler implements this rule exactly (io.splitserve.engine.sampling.Sampler): the hash, the
// 23-bit uniform, the thresholds and the float arithmetic of the keys are the same bit for bit, which is why the
// key and the min-p threshold are written with explicitly rounded operations (no fused multiply-add contraction).
// Only the top-p mass sums (float here, in block order) and logf's last bit may differ from the host at near-ties.
#include "common.cuh"

#define SAMPLE_THREADS 1024

__device__ __forceinline__ uint32_t ordered_key(float f) {
    const uint32_t u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ unsigned long long mix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// uniform strictly inside (0, 1) from 23 random bits: (bits + 0.5) / 2^23 is exact in float, so it never rounds
// up to 1 (whose Gumbel noise, -log(-log 1), is +inf and would win the draw whatever the token's probability)
__device__ __forceinline__ float uniform01(unsigned long long seed, unsigned long long counter, int token) {
    const unsigned long long h =
        mix64(seed + 0x9e3779b97f4a7c15ull * (mix64(counter + 0x632be59bd9b4e019ull * (token + 1ull)) + 1ull));
    return (static_cast<float>(h >> 41) + 0.5f) * (1.f / 8388608.f);
}

__device__ __forceinline__ unsigned int block_count(unsigned int v, unsigned int *scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < (blockDim.x >> 5) ? scratch[lane] : 0u;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Block-wide (value, index) argmax; lowest index wins ties. Result valid in every thread.
__device__ __forceinline__ void block_argmax(float &value, int &index, float *vs, int *is) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const float v2 = __shfl_xor_sync(0xffffffffu, value, o);
        const int i2 = __shfl_xor_sync(0xffffffffu, index, o);
        if (v2 > value || (v2 == value && i2 < index)) {
            value = v2;
            index = i2;
        }
    }
    __syncthreads();
    if (lane == 0) {
        vs[warp] = value;
        is[warp] = index;
    }
    __syncthreads();
    value = lane < (blockDim.x >> 5) ? vs[lane] : SPLITSERVE_NEG_INF;
    index = lane < (blockDim.x >> 5) ? is[lane] : 0x7fffffff;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const float v2 = __shfl_xor_sync(0xffffffffu, value, o);
        const int i2 = __shfl_xor_sync(0xffffffffu, index, o);
        if (v2 > value || (v2 == value && i2 < index)) {
            value = v2;
            index = i2;
        }
    }
}

extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS)
    sample_tokens(int *__restrict__ out_tokens, const float *__restrict__ logits, int logits_stride, int vocab,
                  const float *__restrict__ temperature, const int *__restrict__ top_k,
                  const float *__restrict__ top_p, const float *__restrict__ min_p,
                  const unsigned long long *__restrict__ seeds, unsigned long long *__restrict__ counters) {
    __shared__ float fscratch[32];
    __shared__ int iscratch[32];
    __shared__ unsigned int uscratch[32];
    const int b = blockIdx.x;
    const float *row = logits + static_cast<long long>(b) * logits_stride;

    float best = SPLITSERVE_NEG_INF;
    int best_index = 0x7fffffff;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        const float v = row[i];
        if (v > best) {
            best = v;
            best_index = i;
        }
    }
    block_argmax(best, best_index, fscratch, iscratch);

    const float temp = temperature[b];
    if (!(temp > 0.f)) {
        if (threadIdx.x == 0) {
            out_tokens[b] = best_index;
            counters[b] += 1;
        }
        return;
    }
    const float inv_temp = 1.f / temp;
    const float max_logit = best;
    unsigned long long threshold = 0;  // keep tokens whose ordered key >= threshold

    const int k = top_k[b];
    if (k > 0 && k < vocab) {
        unsigned long long lo = 0, hi = 1ull << 32;  // count(key >= lo) >= k holds, count(key >= hi) >= k fails
        while (hi - lo > 1) {
            const unsigned long long mid = (lo + hi) >> 1;
            unsigned int c = 0;
            for (int i = threadIdx.x; i < vocab; i += blockDim.x) c += ordered_key(row[i]) >= mid;
            if (block_count(c, uscratch) >= static_cast<unsigned int>(k)) lo = mid; else hi = mid;
        }
        threshold = lo;
    }

    const float p = top_p[b];
    if (p < 1.f) {
        float total = 0.f;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            const float v = row[i];
            if (ordered_key(v) >= threshold) total += exp2f((v - max_logit) * inv_temp * 1.4426950408889634f);
        }
        const float target = p * block_sum(total, fscratch);
        unsigned long long lo = threshold, hi = 1ull << 32;  // mass(key >= lo) >= target holds
        while (hi - lo > 1) {
            const unsigned long long mid = (lo + hi) >> 1;
            float mass = 0.f;
            for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
                const float v = row[i];
                if (ordered_key(v) >= mid) mass += exp2f((v - max_logit) * inv_temp * 1.4426950408889634f);
            }
            if (block_sum(mass, fscratch) >= target) lo = mid; else hi = mid;
        }
        threshold = lo;
    }

    const float mp = min_p[b];
    if (mp > 0.f) {  // p_i >= mp * p_max  <=>  logit_i >= max + temperature * ln(mp)
        const unsigned long long key = ordered_key(__fadd_rn(max_logit, __fmul_rn(temp, logf(mp))));
        if (key > threshold) threshold = key;
    }

    const unsigned long long seed = seeds[b], counter = counters[b];
    float best_key = SPLITSERVE_NEG_INF;
    int chosen = 0x7fffffff;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        const float v = row[i];
        if (ordered_key(v) >= threshold) {
            const float gumbel = -logf(-logf(uniform01(seed, counter, i)));
            const float key = __fadd_rn(__fmul_rn(__fsub_rn(v, max_logit), inv_temp), gumbel);
            if (key > best_key) {
                best_key = key;
                chosen = i;
            }
        }
    }
    block_argmax(best_key, chosen, fscratch, iscratch);
    if (threadIdx.x == 0) {
        out_tokens[b] = chosen == 0x7fffffff ? best_index : chosen;
        counters[b] = counter + 1;
    }
}
