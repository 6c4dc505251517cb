// Log-probabilities of the raw logits (before bias, penalties and temperature, as vLLM reports them by default) for
// the rows that ask for them, written to a small buffer the host copies back with the sampled ids; no row of logits
// leaves the GPU.
//
// logprob_rows[j * 3 + ...]: logit row, top tokens wanted (0..20), and the row's index in the logit-processing list
// (-1 when it has none). Output slot j (LOGPROB_SLOT ints): max logit, log(sum(exp(x - max))), the chosen token's
// logprob, then the top tokens' (token, logprob) pairs, most likely first, lower id first among equal logits.
//
// logprobs_top runs before apply_logit_processing (so it reads raw logits): one block per row finds the max, the
// float sum of exp(x - max) (expf, block reduction: the host computes it in double, so the two agree within
// Sampler.LOGPROB_TOLERANCE, not bit for bit) and the top tokens by repeated block maxima over the 64-bit key
// (ordered float key << 32 | ~id), each round taking the largest key below the previous round's. logprobs_chosen
// runs after the sampling kernel: one warp per row reads the chosen token's raw logit, from the value
// apply_logit_processing saved when that token had a bias or a penalty, else from the row it left alone.
#include "common.cuh"

#define LOGPROB_ROW_FIELDS 3
#define LOGPROB_SLOT 43
#define LOGPROB_THREADS 512
#define LOGPROB_ROW_PROCESSING_FIELDS 8
#define LOGPROB_PENALTY_FIELDS 4
#define LOGPROB_BIAS_FIELDS 3

__device__ __forceinline__ unsigned long long logprob_key(float v, int token) {
    const uint32_t u = __float_as_uint(v);
    const uint32_t k = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return (static_cast<unsigned long long>(k) << 32) | static_cast<uint32_t>(~token);
}

__device__ __forceinline__ float logprob_key_value(unsigned long long key) {
    const uint32_t k = static_cast<uint32_t>(key >> 32);
    return __uint_as_float((k & 0x80000000u) ? (k ^ 0x80000000u) : ~k);
}

__device__ __forceinline__ unsigned long long block_max_u64(unsigned long long v, unsigned long long *scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const unsigned long long other = __shfl_xor_sync(0xffffffffu, v, o);
        v = other > v ? other : v;
    }
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0ull;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const unsigned long long other = __shfl_xor_sync(0xffffffffu, v, o);
        v = other > v ? other : v;
    }
    return v;
}

extern "C" __global__ void __launch_bounds__(LOGPROB_THREADS)
    logprobs_top(const float *__restrict__ logits, int logits_stride, int vocab,
                 const int *__restrict__ logprob_rows, int *__restrict__ out) {
    __shared__ float scratch[32];
    __shared__ unsigned long long key_scratch[32];
    const int *d = logprob_rows + blockIdx.x * LOGPROB_ROW_FIELDS;
    const float *row = logits + static_cast<long long>(d[0]) * logits_stride;
    const int wanted = d[1];
    int *slot = out + blockIdx.x * LOGPROB_SLOT;

    float m = SPLITSERVE_NEG_INF;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) m = fmaxf(m, row[i]);
    const float max_logit = block_max(m, scratch);
    float s = 0.f;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) s += expf(__fsub_rn(row[i], max_logit));
    const float log_sum = logf(block_sum(s, scratch));
    if (threadIdx.x == 0) {
        slot[0] = __float_as_int(max_logit);
        slot[1] = __float_as_int(log_sum);
    }
    unsigned long long previous = ~0ull;
    for (int r = 0; r < wanted; r++) {
        unsigned long long best = 0ull;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            const unsigned long long key = logprob_key(row[i], i);
            if (key < previous && key > best) best = key;
        }
        best = block_max_u64(best, key_scratch);
        if (threadIdx.x == 0) {
            slot[3 + 2 * r] = static_cast<int>(~static_cast<uint32_t>(best));
            slot[4 + 2 * r] = __float_as_int(__fsub_rn(__fsub_rn(logprob_key_value(best), max_logit), log_sum));
        }
        previous = best;
    }
}

extern "C" __global__ void logprobs_chosen(const float *__restrict__ logits, int logits_stride,
                                           const int *__restrict__ logprob_rows, const int *__restrict__ sampled,
                                           const int *__restrict__ processing_rows,
                                           const int *__restrict__ penalty_entries,
                                           const int *__restrict__ bias_entries, int *__restrict__ out) {
    const int *d = logprob_rows + blockIdx.x * LOGPROB_ROW_FIELDS;
    const int logit_row = d[0], processing = d[2];
    const int token = sampled[logit_row];
    int *slot = out + blockIdx.x * LOGPROB_SLOT;
    float raw = logits[static_cast<long long>(logit_row) * logits_stride + token];
    if (processing >= 0) {
        const int *p = processing_rows + processing * LOGPROB_ROW_PROCESSING_FIELDS;
        int found_bias = -1, found_penalty = -1;
        for (int i = threadIdx.x; i < p[4]; i += 32) {
            if (bias_entries[(p[3] + i) * LOGPROB_BIAS_FIELDS] == token) found_bias = i;
        }
        for (int i = threadIdx.x; i < p[2]; i += 32) {
            if (penalty_entries[(p[1] + i) * LOGPROB_PENALTY_FIELDS] == token) found_penalty = i;
        }
        // entries are distinct, so at most one lane of the warp found each
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            found_bias = max(found_bias, __shfl_xor_sync(0xffffffffu, found_bias, o));
            found_penalty = max(found_penalty, __shfl_xor_sync(0xffffffffu, found_penalty, o));
        }
        if (found_bias >= 0) {
            raw = __int_as_float(bias_entries[(p[3] + found_bias) * LOGPROB_BIAS_FIELDS + 2]);
        } else if (found_penalty >= 0) {
            raw = __int_as_float(penalty_entries[(p[1] + found_penalty) * LOGPROB_PENALTY_FIELDS + 3]);
        }
    }
    if (threadIdx.x == 0) {
        slot[2] = __float_as_int(__fsub_rn(__fsub_rn(raw, __int_as_float(slot[0])), __int_as_float(slot[1])));
    }
}
