// Token selection on the GPU, so a decode step never copies logits to the host.
//
// One block per sequence over fp32 logits. temperature <= 0 selects the argmax (lowest index on ties), in one pass.
// Otherwise only candidates take part: tokens whose logit reaches the floor max - 20 * temperature (a probability
// at least e^-20 ~ 2e-9 of the top token's); the others have probability 0. Among the candidates, the kept set is
// every token whose logit reaches the largest of three thresholds: top-k (the k-th largest logit, ties kept), top-p
// (the smallest high-logit set whose softmax mass reaches p of the top-k set's) and min-p (probability at least minP
// times the top token's). Thresholds are found by bisection over the order-preserving integer image of the float
// logits, so they are exact and need no sort. A token is then drawn from softmax(logit / temperature) restricted to
// the kept set by the Gumbel-max rule, with noise from a counter-based hash of (seed, counter, token): each sequence
// has its own reproducible stream, and the kernel advances the sequence's counter itself, so a captured graph draws
// fresh tokens on every replay.
//
// Why the floor: the bisections and the draw then need not read the row. After the argmax pass, one pass counts the
// candidates; when at most SAMPLE_CANDIDATES pass, a second pass copies them (value and token, in a fixed order) into
// shared memory and every bisection, mass sum and the draw run there. When more pass, the same rule runs over the
// whole row (the floor still applies), so the token is the same either way. The floor costs the rule nothing the
// draw could see: Gumbel noise from a 23-bit uniform lies in [-2.82, 16.64], so a token more than 19.46 below the top
// token (in logit / temperature) never beats it; it only leaves out of the top-p total a mass of at most
// vocab * e^-20 of the top token's.
//
// The engine's CPU Sampler implements this rule exactly (io.splitserve.engine.sampling.Sampler): the hash, the
// 23-bit uniform, the floor, the thresholds and the float arithmetic of the keys are the same bit for bit, which is
// why the floor, the key and the min-p threshold are written with explicitly rounded operations (no fused
// multiply-add contraction). Only the top-p mass sums (float here, in block order) and logf's last bit may differ
// from the host at near-ties.
#include "common.cuh"

#define SAMPLE_THREADS 1024
// candidates held in shared memory (value and token: 32 KiB); must equal SamplingKernel.CANDIDATE_CAPACITY
#define SAMPLE_CANDIDATES 4096
// the floor's distance below the top logit, in units of the temperature; must equal Sampler.CANDIDATE_MARGIN
#define SAMPLE_MARGIN 20.f

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

// Block-wide exclusive prefix sum of one count per thread (in thread order); *total gets the sum in every thread.
__device__ __forceinline__ unsigned int block_exclusive_scan(unsigned int v, unsigned int *scratch,
                                                             unsigned int *total) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    unsigned int inclusive = v;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        const unsigned int up = __shfl_up_sync(0xffffffffu, inclusive, o);
        if (lane >= o) inclusive += up;
    }
    __syncthreads();
    if (lane == 31) scratch[warp] = inclusive;
    __syncthreads();
    unsigned int warp_total = lane < warps ? scratch[lane] : 0u;
    unsigned int warp_inclusive = warp_total;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        const unsigned int up = __shfl_up_sync(0xffffffffu, warp_inclusive, o);
        if (lane >= o) warp_inclusive += up;
    }
    *total = __shfl_sync(0xffffffffu, warp_inclusive, 31);
    const unsigned int warp_base = __shfl_sync(0xffffffffu, warp_inclusive - warp_total, warp);
    return warp_base + inclusive - v;
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

// The whole row as the tokens to choose from: item i is token i (the fallback when the candidates overflow).
struct RowTokens {
    const float *row;
    __device__ __forceinline__ float value(int i) const { return row[i]; }
    __device__ __forceinline__ int token(int i) const { return i; }
};

// The candidates copied to shared memory: item i is token tokens[i] with logit values[i].
struct CandidateTokens {
    const float *values;
    const int *tokens;
    __device__ __forceinline__ float value(int i) const { return values[i]; }
    __device__ __forceinline__ int token(int i) const { return tokens[i]; }
};

// The sampled token among items [0, items) of `source`, whose tokens below `floor_key` have probability 0 and of
// which `candidates` reach it. Every thread must call it; the result is valid in every thread (0x7fffffff if none
// is kept, which cannot happen for a finite maximum).
template <class Source>
__device__ __forceinline__ int sample_from(const Source &source, int items, unsigned int candidates,
                                           unsigned long long floor_key, float max_logit, float temp, int k, float p,
                                           float mp, unsigned long long seed, unsigned long long counter,
                                           float *fscratch, int *iscratch, unsigned int *uscratch) {
    const float inv_temp = 1.f / temp;
    const unsigned long long top = static_cast<unsigned long long>(ordered_key(max_logit)) + 1ull;
    unsigned long long threshold = floor_key;  // keep tokens whose ordered key >= threshold

    if (k > 0 && static_cast<unsigned int>(k) < candidates) {
        unsigned long long lo = threshold, hi = top;  // count(key >= lo) >= k holds, count(key >= hi) >= k fails
        while (hi - lo > 1) {
            const unsigned long long mid = (lo + hi) >> 1;
            unsigned int c = 0;
            for (int i = threadIdx.x; i < items; i += blockDim.x) c += ordered_key(source.value(i)) >= mid;
            if (block_count(c, uscratch) >= static_cast<unsigned int>(k)) lo = mid; else hi = mid;
        }
        threshold = lo;
    }

    if (p < 1.f) {
        float total = 0.f;
        for (int i = threadIdx.x; i < items; i += blockDim.x) {
            const float v = source.value(i);
            if (ordered_key(v) >= threshold) total += exp2f((v - max_logit) * inv_temp * 1.4426950408889634f);
        }
        const float target = p * block_sum(total, fscratch);
        unsigned long long lo = threshold, hi = top;  // mass(key >= lo) >= target holds, mass(key >= top) is 0
        while (hi - lo > 1) {
            const unsigned long long mid = (lo + hi) >> 1;
            float mass = 0.f;
            for (int i = threadIdx.x; i < items; i += blockDim.x) {
                const float v = source.value(i);
                if (ordered_key(v) >= mid) mass += exp2f((v - max_logit) * inv_temp * 1.4426950408889634f);
            }
            if (block_sum(mass, fscratch) >= target) lo = mid; else hi = mid;
        }
        threshold = lo;
    }

    if (mp > 0.f) {  // p_i >= mp * p_max  <=>  logit_i >= max + temperature * ln(mp)
        const unsigned long long key = ordered_key(__fadd_rn(max_logit, __fmul_rn(temp, logf(mp))));
        if (key > threshold) threshold = key;
    }

    float best_key = SPLITSERVE_NEG_INF;
    int chosen = 0x7fffffff;
    for (int i = threadIdx.x; i < items; i += blockDim.x) {
        const float v = source.value(i);
        if (ordered_key(v) >= threshold) {
            const int t = source.token(i);
            const float gumbel = -logf(-logf(uniform01(seed, counter, t)));
            const float key = __fadd_rn(__fmul_rn(__fsub_rn(v, max_logit), inv_temp), gumbel);
            if (key > best_key || (key == best_key && t < chosen)) {
                best_key = key;
                chosen = t;
            }
        }
    }
    block_argmax(best_key, chosen, fscratch, iscratch);
    return chosen;
}

extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS)
    sample_tokens(int *__restrict__ out_tokens, const float *__restrict__ logits, int logits_stride, int vocab,
                  const float *__restrict__ temperature, const int *__restrict__ top_k,
                  const float *__restrict__ top_p, const float *__restrict__ min_p,
                  const unsigned long long *__restrict__ seeds, unsigned long long *__restrict__ counters) {
    __shared__ float fscratch[32];
    __shared__ int iscratch[32];
    __shared__ unsigned int uscratch[32];
    __shared__ float candidate_values[SAMPLE_CANDIDATES];
    __shared__ int candidate_tokens[SAMPLE_CANDIDATES];
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
    const float max_logit = best;
    const unsigned long long floor_key = ordered_key(__fsub_rn(max_logit, __fmul_rn(SAMPLE_MARGIN, temp)));

    unsigned int mine = 0;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) mine += ordered_key(row[i]) >= floor_key;
    unsigned int candidates;
    unsigned int slot = block_exclusive_scan(mine, uscratch, &candidates);

    const unsigned long long seed = seeds[b], counter = counters[b];
    int chosen;
    if (candidates <= SAMPLE_CANDIDATES) {
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            const float v = row[i];
            if (ordered_key(v) >= floor_key) {
                candidate_values[slot] = v;
                candidate_tokens[slot] = i;
                slot++;
            }
        }
        __syncthreads();
        const CandidateTokens source{candidate_values, candidate_tokens};
        chosen = sample_from(source, static_cast<int>(candidates), candidates, floor_key, max_logit, temp, top_k[b],
                             top_p[b], min_p[b], seed, counter, fscratch, iscratch, uscratch);
    } else {
        const RowTokens source{row};
        chosen = sample_from(source, vocab, candidates, floor_key, max_logit, temp, top_k[b], top_p[b], min_p[b],
                             seed, counter, fscratch, iscratch, uscratch);
    }
    if (threadIdx.x == 0) {
        out_tokens[b] = chosen == 0x7fffffff ? best_index : chosen;
        counters[b] = counter + 1;
    }
}
