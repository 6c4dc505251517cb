// Token selection on the GPU, so a decode step never copies logits to the host.
//
// One block per sequence over fp32 logits. temperature <= 0 selects the argmax (lowest index on ties), in one pass.
// Otherwise only candidates take part: tokens whose logit lies between the floor max - 20 * temperature and the
// maximum (a probability at least e^-20 ~ 2e-9 of the top token's; NaN is never a candidate). Each candidate weighs
// W = trunc(2^40 * 2^((logit - max) / temperature * log2 e)), an integer, with 2^y evaluated by a fixed sequence of
// correctly rounded float operations (exp2_exact); sums of weights are therefore exact and independent of the order
// in which threads add them, so the kernel is deterministic and the host sampler repeats it bit for bit.
//
// The kept set is every candidate whose logit's order-preserving integer image (its key) reaches the largest of:
// the floor; top-k's threshold (the k-th largest key, ties kept); top-p's (the largest key t such that the weight of
// the candidates with key >= t reaches floor(p * 2^24) / 2^24 of the top-k set's weight); min-p's (logit at least
// max + temperature * ln(minP)). The token is then drawn by inverse CDF: with K the kept weight and r = the high 64
// bits of hash(seed, counter) * K, the first token in id order whose running kept weight exceeds r. The kernel
// advances the sequence's counter itself, so a captured graph draws fresh tokens on every replay.
//
// How the thresholds are found without sorting and in few passes over the row. Pass 1 finds the maximum (and the
// row's minimum). Pass 2 puts every candidate in one of SAMPLE_BINS bins by value (a monotone function of the logit
// over [max(floor, min), max]) with each bin's count and weight. A threshold is the key at which a running count or
// weight, taken from the top, reaches a target: the bins' suffix sums name the bin it lies in; that bin's candidates
// (a few hundred on any row but a flat one) are copied to shared memory (pass 3) and resolved there by histograms
// over their keys, SAMPLE_BINS buckets per level, down to the single key. A bin too full for shared memory is
// narrowed by key histograms over the row until its part fits. Pass 4 draws. A flat row where every candidate is
// kept at top-p 0.9 therefore reads the row four times, where a bisection over keys read it about 35 times. Pass 2's
// per-candidate shared-memory atomics are 32-bit (64-bit ones are compare-and-swap loops, measured at ~50 us of a
// 176 us flat row); pass 4 reads coalesced (a contiguous run per thread cost ~47 us there).
//
// The engine's CPU Sampler implements this rule (io.splitserve.engine.sampling.Sampler): keys, weights, thresholds and
// the draw are the same integers there. Only min-p's threshold uses logf, whose last bit may differ from the host's.
#include "common.cuh"

#define SAMPLE_THREADS 1024
// bins per histogram level; one per thread in the scans over them
#define SAMPLE_BINS 1024
// candidate keys a block holds in shared memory; must equal SamplingKernel.SHARED_KEY_CAPACITY
#define SAMPLE_CAPACITY 4096
// the floor's distance below the top logit, in units of the temperature; must equal Sampler.CANDIDATE_MARGIN
#define SAMPLE_MARGIN 20.f
// a value bin holding this many candidates has its weight summed in 64 bits (two 32-bit halves could overflow)
#define SAMPLE_FULL_BIN 4096
// 2^40: the fixed-point weight of a token as likely as the top one
#define SAMPLE_WEIGHT_ONE 1099511627776.f

__device__ __forceinline__ uint32_t ordered_key(float f) {
    const uint32_t u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ float key_value(uint32_t k) {
    return __uint_as_float((k & 0x80000000u) ? (k ^ 0x80000000u) : ~k);
}

__device__ __forceinline__ unsigned long long mix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// 64 random bits for draw `counter` of the stream `seed`
__device__ __forceinline__ unsigned long long draw_hash(unsigned long long seed, unsigned long long counter) {
    return mix64(seed + 0x9e3779b97f4a7c15ull * (mix64(counter) + 1ull));
}

// 2^y for y <= 0 (clamped to [-64, 0]; NaN counts as 0): 2^n * poly(f) with n = rint(y), f = y - n in [-0.5, 0.5]
// and the degree-7 Taylor polynomial of 2^f (relative error below 1e-8 before rounding), every operation rounded to
// nearest and none fused, as Sampler.exp2 does on the host
__device__ __forceinline__ float exp2_exact(float y) {
    if (!(y < 0.f)) y = 0.f;
    if (y < -64.f) y = -64.f;
    const float n = rintf(y);
    const float f = __fsub_rn(y, n);
    float p = 0x1.ffcbfcp-17f;
    p = __fadd_rn(__fmul_rn(p, f), 0x1.430912p-13f);
    p = __fadd_rn(__fmul_rn(p, f), 0x1.5d87fep-10f);
    p = __fadd_rn(__fmul_rn(p, f), 0x1.3b2ab6p-7f);
    p = __fadd_rn(__fmul_rn(p, f), 0x1.c6b08ep-5f);
    p = __fadd_rn(__fmul_rn(p, f), 0x1.ebfbe0p-3f);
    p = __fadd_rn(__fmul_rn(p, f), 0x1.62e430p-1f);
    p = __fadd_rn(__fmul_rn(p, f), 1.f);
    return ldexpf(p, static_cast<int>(n));
}

// a candidate's fixed-point weight: 2^40 for the top token, at least ~2^40 * e^-20 ~ 2,200 for any candidate
__device__ __forceinline__ unsigned long long token_weight(float v, float max_logit, float inv_temp) {
    const float y = __fmul_rn(__fmul_rn(__fsub_rn(v, max_logit), inv_temp), 0x1.715476p+0f);
    return __float2ull_rz(__fmul_rn(exp2_exact(y), SAMPLE_WEIGHT_ONE));
}

// Visits every logit of a row as f(value, index), each thread its strided share, four at a time when aligned.
template <class F>
__device__ __forceinline__ void for_each_logit(const float *row, int vocab, bool aligned, F f) {
    int tail = 0;
    if (aligned) {
        const float4 *row4 = reinterpret_cast<const float4 *>(row);
        const int quads = vocab >> 2, step = blockDim.x;
        auto visit = [&](const float4 &v, int q) {
            f(v.x, 4 * q);
            f(v.y, 4 * q + 1);
            f(v.z, 4 * q + 2);
            f(v.w, 4 * q + 3);
        };
        int q = threadIdx.x;
        for (; q + 3 * step < quads; q += 4 * step) {  // four loads in flight before any use
            const float4 a = __ldg(row4 + q), b = __ldg(row4 + q + step), c = __ldg(row4 + q + 2 * step),
                         d = __ldg(row4 + q + 3 * step);
            visit(a, q);
            visit(b, q + step);
            visit(c, q + 2 * step);
            visit(d, q + 3 * step);
        }
        for (; q < quads; q += step) visit(__ldg(row4 + q), q);
        tail = quads << 2;
    }
    for (int i = tail + threadIdx.x; i < vocab; i += blockDim.x) f(row[i], i);
}

// Block-wide inclusive prefix sum in thread order; *total gets the sum in every thread.
__device__ __forceinline__ unsigned long long block_inclusive_scan(unsigned long long v, unsigned long long *scratch,
                                                                   unsigned long long *total) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        const unsigned long long up = __shfl_up_sync(0xffffffffu, v, o);
        if (lane >= o) v += up;
    }
    __syncthreads();
    if (lane == 31) scratch[warp] = v;
    __syncthreads();
    unsigned long long warp_total = lane < warps ? scratch[lane] : 0ull;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        const unsigned long long up = __shfl_up_sync(0xffffffffu, warp_total, o);
        if (lane >= o) warp_total += up;
    }
    *total = __shfl_sync(0xffffffffu, warp_total, 31);
    const unsigned long long before = warp > 0 ? __shfl_sync(0xffffffffu, warp_total, warp - 1) : 0ull;
    return before + v;
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

struct SampleShared {
    // pass 2's value bins: candidates and their weight per bin
    unsigned int count[SAMPLE_BINS];
    unsigned long long weight[SAMPLE_BINS];
    // one level of key buckets while a threshold is resolved
    unsigned int key_count[SAMPLE_BINS];
    unsigned long long key_weight[SAMPLE_BINS];
    // the candidates of the bin being resolved, by key
    uint32_t keys[SAMPLE_CAPACITY];
    unsigned int held;
    unsigned long long scan_scratch[32];
    float fscratch[32];
    int iscratch[32];
    // find_crossing's answer
    int crossing;
    unsigned int above_count, crossing_count;
    unsigned long long above_weight, crossing_weight, total_count, total_weight;
    int chosen;
};

// What a row's candidates are and how they are binned, fixed once the maximum is known.
struct RowRule {
    const float *row;
    int vocab;
    bool aligned;
    float max_logit, inv_temp, low, scale;
    uint32_t floor_key, max_key;

    __device__ __forceinline__ bool candidate(uint32_t key) const { return key >= floor_key && key <= max_key; }
    __device__ __forceinline__ int value_bin(float v) const {
        const int b = static_cast<int>(__fmul_rn(__fsub_rn(v, low), scale));
        return b < SAMPLE_BINS - 1 ? b : SAMPLE_BINS - 1;
    }
    __device__ __forceinline__ unsigned long long weight(float v) const { return token_weight(v, max_logit, inv_temp); }
};

// Over bins[0, SAMPLE_BINS) (ascending values or keys), finds the highest bin at which the running sum from the top
// of the count (by_weight false) or weight reaches `target` (>= 1): sets s.crossing (-1 if the total falls short),
// the sums above it and its own, and the totals. Every thread must call it; results valid after it returns.
__device__ __forceinline__ void find_crossing(SampleShared &s, const unsigned int *counts,
                                              const unsigned long long *weights, bool by_weight,
                                              unsigned long long target) {
    const int bin = SAMPLE_BINS - 1 - threadIdx.x;
    const unsigned long long own_count = counts[bin], own_weight = weights[bin];
    unsigned long long total_count, total_weight;
    const unsigned long long count_through = block_inclusive_scan(own_count, s.scan_scratch, &total_count);
    const unsigned long long weight_through = block_inclusive_scan(own_weight, s.scan_scratch, &total_weight);
    if (threadIdx.x == 0) s.crossing = -1;
    __syncthreads();
    const unsigned long long through = by_weight ? weight_through : count_through;
    const unsigned long long own = by_weight ? own_weight : own_count;
    if (through >= target && through - own < target) {
        s.crossing = bin;
        s.above_count = static_cast<unsigned int>(count_through - own_count);
        s.above_weight = weight_through - own_weight;
        s.crossing_count = static_cast<unsigned int>(own_count);
        s.crossing_weight = own_weight;
    }
    if (threadIdx.x == 0) {
        s.total_count = total_count;
        s.total_weight = total_weight;
    }
    __syncthreads();
}

// A threshold found: the key and the count and weight of the candidates at or above it.
struct Threshold {
    uint32_t key;
    unsigned long long count, weight;
};

// The largest key t such that the candidates with key >= t, among those with key >= restrict, reach `target` in
// count or weight; `target` must lie within what those candidates hold. Uses pass 2's bins (s.count, s.weight).
__device__ Threshold select_threshold(SampleShared &s, const RowRule &rule, bool by_weight,
                                      unsigned long long target, uint32_t restrict_key) {
    find_crossing(s, s.count, s.weight, by_weight, target);
    if (s.crossing < 0) return Threshold{rule.max_key, 0ull, 0ull};  // unreachable for a target the row holds
    const int bin = s.crossing;
    unsigned long long above_count = s.above_count, above_weight = s.above_weight;
    const bool bin_fits = s.crossing_count <= SAMPLE_CAPACITY;
    __syncthreads();

    // the elements being resolved: candidates of `bin` with key >= restrict, and within [lo, hi]
    uint32_t lo = restrict_key > rule.floor_key ? restrict_key : rule.floor_key, hi = rule.max_key;
    bool in_shared = false;
    if (bin_fits) {
        if (threadIdx.x == 0) s.held = 0;
        __syncthreads();
        for_each_logit(rule.row, rule.vocab, rule.aligned, [&](float v, int) {
            const uint32_t key = ordered_key(v);
            if (rule.candidate(key) && key >= lo && rule.value_bin(v) == bin) s.keys[atomicAdd(&s.held, 1u)] = key;
        });
        __syncthreads();
        in_shared = true;
    }
    while (true) {
        const unsigned long long span = static_cast<unsigned long long>(hi) - lo + 1ull;
        const int shift = span > SAMPLE_BINS ? (64 - __clzll(span - 1ull)) - 10 : 0;
        s.key_count[threadIdx.x] = 0u;
        s.key_weight[threadIdx.x] = 0ull;
        __syncthreads();
        auto add = [&](uint32_t key, float v) {
            const int b = static_cast<int>((key - lo) >> shift);
            atomicAdd(&s.key_count[b], 1u);
            atomicAdd(&s.key_weight[b], rule.weight(v));
        };
        if (in_shared) {
            const unsigned int held = s.held;
            for (unsigned int i = threadIdx.x; i < held; i += blockDim.x) {
                const uint32_t key = s.keys[i];
                if (key >= lo && key <= hi) add(key, key_value(key));
            }
        } else {
            for_each_logit(rule.row, rule.vocab, rule.aligned, [&](float v, int) {
                const uint32_t key = ordered_key(v);
                if (rule.candidate(key) && key >= lo && key <= hi && rule.value_bin(v) == bin) add(key, v);
            });
        }
        __syncthreads();
        find_crossing(s, s.key_count, s.key_weight, by_weight,
                      target - (by_weight ? above_weight : above_count));
        if (s.crossing < 0) return Threshold{rule.max_key, 0ull, 0ull};  // unreachable, as above
        const uint32_t bucket_lo = lo + (static_cast<uint32_t>(s.crossing) << shift);
        above_count += s.above_count;
        above_weight += s.above_weight;
        if (shift == 0) {
            const Threshold t{bucket_lo, above_count + s.crossing_count, above_weight + s.crossing_weight};
            __syncthreads();
            return t;
        }
        const unsigned long long bucket_hi = static_cast<unsigned long long>(bucket_lo) + (1ull << shift) - 1ull;
        const bool bucket_fits = s.crossing_count <= SAMPLE_CAPACITY;
        __syncthreads();
        lo = bucket_lo;
        hi = bucket_hi < hi ? static_cast<uint32_t>(bucket_hi) : hi;
        if (!in_shared && bucket_fits) {
            if (threadIdx.x == 0) s.held = 0;
            __syncthreads();
            for_each_logit(rule.row, rule.vocab, rule.aligned, [&](float v, int) {
                const uint32_t key = ordered_key(v);
                if (rule.candidate(key) && key >= lo && key <= hi && rule.value_bin(v) == bin) {
                    s.keys[atomicAdd(&s.held, 1u)] = key;
                }
            });
            __syncthreads();
            in_shared = true;
        }
    }
}

// floor(total * scaled_p / 2^24) without overflow (total < 2^58, scaled_p < 2^24), at least 1
__device__ __forceinline__ unsigned long long top_p_target(unsigned long long total, unsigned long long scaled_p) {
    const unsigned long long t = (total >> 24) * scaled_p + (((total & 0xffffffull) * scaled_p) >> 24);
    return t > 0ull ? t : 1ull;
}

extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS)
    sample_tokens(int *__restrict__ out_tokens, const float *__restrict__ logits, int logits_stride, int vocab,
                  const float *__restrict__ temperature, const int *__restrict__ top_k,
                  const float *__restrict__ top_p, const float *__restrict__ min_p,
                  const unsigned long long *__restrict__ seeds, unsigned long long *__restrict__ counters) {
    __shared__ SampleShared s;
    const int b = blockIdx.x;
    const float *row = logits + static_cast<long long>(b) * logits_stride;
    const bool aligned = (logits_stride & 3) == 0 && (reinterpret_cast<uintptr_t>(logits) & 15) == 0;

    // pass 1: the maximum (first index on ties) and the minimum
    float best = SPLITSERVE_NEG_INF, lowest = -SPLITSERVE_NEG_INF;
    int best_index = 0x7fffffff;
    for_each_logit(row, vocab, aligned, [&](float v, int i) {
        if (v > best) {
            best = v;
            best_index = i;
        }
        if (v < lowest) lowest = v;
    });
    block_argmax(best, best_index, s.fscratch, s.iscratch);
    const float temp = temperature[b];
    if (!(temp > 0.f)) {
        if (threadIdx.x == 0) {
            out_tokens[b] = best_index;
            counters[b] += 1;
        }
        return;
    }
    lowest = -block_max(-lowest, s.fscratch);

    RowRule rule;
    rule.row = row;
    rule.vocab = vocab;
    rule.aligned = aligned;
    rule.max_logit = best;
    rule.inv_temp = __fdiv_rn(1.f, temp);
    const float floor_value = __fsub_rn(best, __fmul_rn(SAMPLE_MARGIN, temp));
    rule.floor_key = ordered_key(floor_value);
    rule.max_key = ordered_key(best);
    rule.low = fmaxf(floor_value, lowest);
    const float span = __fsub_rn(best, rule.low);
    rule.scale = span > 0.f ? __fdiv_rn(static_cast<float>(SAMPLE_BINS), span) : 0.f;

    // pass 2: candidates by value bin. Weights go in as two 32-bit halves (bits 20 and up, bits below 20; shared
    // memory adds 32-bit integers natively, 64-bit ones by a compare-and-swap loop), which are exact sums for a bin
    // of fewer than 4,096 candidates; the rare fuller bin is summed again below, in 64 bits.
    unsigned int *weight_high = reinterpret_cast<unsigned int *>(s.key_weight);
    unsigned int *weight_low = weight_high + SAMPLE_BINS;
    s.count[threadIdx.x] = 0u;
    weight_high[threadIdx.x] = 0u;
    weight_low[threadIdx.x] = 0u;
    __syncthreads();
    for_each_logit(row, vocab, aligned, [&](float v, int) {
        if (rule.candidate(ordered_key(v))) {
            const int bin = rule.value_bin(v);
            const unsigned long long w = rule.weight(v);
            atomicAdd(&s.count[bin], 1u);
            atomicAdd(&weight_high[bin], static_cast<unsigned int>(w >> 20));
            atomicAdd(&weight_low[bin], static_cast<unsigned int>(w & 0xfffffull));
        }
    });
    __syncthreads();
    const bool full_bin = s.count[threadIdx.x] >= SAMPLE_FULL_BIN;
    s.weight[threadIdx.x] = full_bin ? 0ull
        : (static_cast<unsigned long long>(weight_high[threadIdx.x]) << 20) + weight_low[threadIdx.x];
    if (__syncthreads_or(full_bin)) {
        for_each_logit(row, vocab, aligned, [&](float v, int) {
            if (rule.candidate(ordered_key(v))) {
                const int bin = rule.value_bin(v);
                if (s.count[bin] >= SAMPLE_FULL_BIN) atomicAdd(&s.weight[bin], rule.weight(v));
            }
        });
        __syncthreads();
    }
    find_crossing(s, s.count, s.weight, false, 1ull);
    const unsigned long long candidates = s.total_count;
    unsigned long long kept_weight = s.total_weight;
    __syncthreads();

    uint32_t threshold = rule.floor_key;
    const int k = top_k[b];
    if (k > 0 && static_cast<unsigned long long>(k) < candidates) {
        const Threshold t = select_threshold(s, rule, false, static_cast<unsigned long long>(k), threshold);
        threshold = t.key;
        kept_weight = t.weight;
    }
    const float p = top_p[b];
    if (p < 1.f) {
        const unsigned long long scaled_p = __float2ull_rz(__fmul_rn(p, 16777216.f));
        const Threshold t = select_threshold(s, rule, true, top_p_target(kept_weight, scaled_p), threshold);
        threshold = t.key;
    }
    const float mp = min_p[b];
    if (mp > 0.f) {  // p_i >= mp * p_max  <=>  logit_i >= max + temperature * ln(mp)
        const uint32_t key = ordered_key(__fadd_rn(best, __fmul_rn(temp, logf(mp))));
        if (key > threshold) threshold = key;
    }

    // pass 4: inverse-CDF draw in token order. Each warp takes a contiguous segment of the row, its lanes four
    // neighbouring logits each per 128 (coalesced); a block scan over the warps' kept weight finds the warp whose
    // segment holds the draw, and that warp walks its segment 128 logits at a time.
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int segment = ((vocab + 128 * (SAMPLE_THREADS / 32) - 1) / (128 * (SAMPLE_THREADS / 32))) * 128;
    const int seg_begin = warp * segment, seg_end = min(vocab, seg_begin + segment);
    // the kept weight of logits [i, i + 4) that lie before seg_end
    auto kept_quad = [&](int i) {
        float v[4];
        if (aligned && i + 4 <= seg_end) {
            const float4 q = __ldg(reinterpret_cast<const float4 *>(row + i));
            v[0] = q.x;
            v[1] = q.y;
            v[2] = q.z;
            v[3] = q.w;
        } else {
#pragma unroll
            for (int j = 0; j < 4; j++) v[j] = i + j < seg_end ? row[i + j] : SPLITSERVE_NEG_INF;
        }
        unsigned long long w = 0ull;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const uint32_t key = ordered_key(v[j]);
            if (key >= threshold && key <= rule.max_key) w += rule.weight(v[j]);
        }
        return w;
    };
    unsigned long long own = 0ull;
    for (int i = seg_begin + 4 * lane; i < seg_end; i += 128) own += kept_quad(i);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) own += __shfl_xor_sync(0xffffffffu, own, o);
    unsigned long long kept;
    const unsigned long long warp_through = block_inclusive_scan(lane == 0 ? own : 0ull, s.scan_scratch, &kept);
    const unsigned long long counter = counters[b];
    const unsigned long long r = __umul64hi(draw_hash(seeds[b], counter), kept);
    if (threadIdx.x == 0) s.chosen = best_index;
    __syncthreads();
    // warp_through, in lane 0, is the kept weight of segments 0..warp (the scan adds one value per warp)
    const unsigned long long through = __shfl_sync(0xffffffffu, warp_through, 0);
    unsigned long long running = through - own;
    if (running <= r && r < through) {
        for (int base = seg_begin; base < seg_end; base += 128) {
            const int i = base + 4 * lane;
            const unsigned long long w = i < seg_end ? kept_quad(i) : 0ull;
            unsigned long long inclusive = w;
#pragma unroll
            for (int o = 1; o < 32; o <<= 1) {
                const unsigned long long up = __shfl_up_sync(0xffffffffu, inclusive, o);
                if (lane >= o) inclusive += up;
            }
            const unsigned int past = __ballot_sync(0xffffffffu, running + inclusive > r);
            if (past != 0u) {
                if (lane == __ffs(past) - 1) {  // the first lane whose quad takes the running weight past r
                    unsigned long long at = running + inclusive - w;
                    for (int j = 0; j < 4 && i + j < seg_end; j++) {
                        const float v = row[i + j];
                        const uint32_t key = ordered_key(v);
                        if (key >= threshold && key <= rule.max_key) {
                            at += rule.weight(v);
                            if (at > r) {
                                s.chosen = i + j;
                                break;
                            }
                        }
                    }
                }
                break;
            }
            running += __shfl_sync(0xffffffffu, inclusive, 31);
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        out_tokens[b] = s.chosen;
        counters[b] = counter + 1;
    }
}
