// Logit bias and penalties applied in place to the rows that have them, before the sampling kernel, so no row of
// logits ever leaves the GPU. vLLM's semantics and order: bias, then the repetition penalty (tokens of the prompt or
// the output), then the frequency and presence penalties (tokens of the output only).
//
// One block per processed row, fed by a compact list the host packs with the step's metadata:
//   rows[r * 8 + ...]: logit row, first penalty entry, penalty entries, first bias entry, bias entries, repetition,
//                      frequency and presence (the last three float bits);
//   penalty entries (4 ints): token, output count, in-prompt flag, and a slot where the kernel saves the logit it
//                      found (after the bias), for the logprobs of the chosen token;
//   bias entries (3 ints): token, bias (float bits), and a slot where the kernel saves the raw logit.
// Each entry names a distinct token of its row, so threads never write the same logit; the bias pass ends before the
// penalty pass begins. Every adjustment is the fixed sequence of correctly rounded float operations of the host's
// io.splitserve.engine.sampling.LogitProcessor, none fused, so both sides give the same processed logits bit for bit:
//   bias: l + b; repetition: l > 0 ? l / rep : l * rep; frequency and presence: (l - freq * count) - presence.
#include "common.cuh"

#define LOGIT_ROW_FIELDS 8
#define LOGIT_PENALTY_FIELDS 4
#define LOGIT_BIAS_FIELDS 3

extern "C" __global__ void apply_logit_processing(float *__restrict__ logits, int logits_stride,
                                                  const int *__restrict__ rows, int *__restrict__ penalty_entries,
                                                  int *__restrict__ bias_entries) {
    const int *d = rows + blockIdx.x * LOGIT_ROW_FIELDS;
    float *row = logits + static_cast<long long>(d[0]) * logits_stride;
    const int penalty_start = d[1], penalty_count = d[2], bias_start = d[3], bias_count = d[4];
    const float repetition = __int_as_float(d[5]), frequency = __int_as_float(d[6]),
                presence = __int_as_float(d[7]);
    for (int i = threadIdx.x; i < bias_count; i += blockDim.x) {
        int *e = bias_entries + (bias_start + i) * LOGIT_BIAS_FIELDS;
        const float l = row[e[0]];
        e[2] = __float_as_int(l);
        row[e[0]] = __fadd_rn(l, __int_as_float(e[1]));
    }
    __syncthreads();
    for (int i = threadIdx.x; i < penalty_count; i += blockDim.x) {
        int *e = penalty_entries + (penalty_start + i) * LOGIT_PENALTY_FIELDS;
        const int count = e[1];
        float l = row[e[0]];
        e[3] = __float_as_int(l);
        if (repetition != 1.f && (count > 0 || e[2] != 0)) {
            l = l > 0.f ? __fdiv_rn(l, repetition) : __fmul_rn(l, repetition);
        }
        if (count > 0) {
            l = __fsub_rn(l, __fmul_rn(frequency, __int2float_rn(count)));
            l = __fsub_rn(l, presence);
        }
        row[e[0]] = l;
    }
}
