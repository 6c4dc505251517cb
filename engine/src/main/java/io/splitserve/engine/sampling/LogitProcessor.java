package io.splitserve.engine.sampling;

import io.splitserve.model.LogitBias;
import io.splitserve.model.SamplingParams;

/**
 * The changes a request's logit bias and penalties make to its row of logits before temperature and the filters, in
 * vLLM's order (see {@link SamplingParams}): bias first, then the repetition penalty, then the frequency and presence
 * penalties. Each adjustment is the fixed sequence of rounded float operations below, which the GPU kernel
 * {@code logit_processing.cu} repeats with {@code __fadd_rn}, {@code __fdiv_rn}, {@code __fmul_rn} and
 * {@code __fsub_rn} (never fused), so both sides give the same processed logits bit for bit:
 * <ul>
 *   <li>bias: {@code l + bias};</li>
 *   <li>repetition, for a token in the prompt or the output: {@code l > 0 ? l / rep : l * rep};</li>
 *   <li>frequency and presence, for a token the output holds {@code count > 0} times:
 *   {@code (l - freq * (float) count) - presence}.</li>
 * </ul>
 * Stateless; every method changes only the tokens the bias or the history names.
 */
public final class LogitProcessor {
    private LogitProcessor() {
    }

    /**
     * Applies {@code params}' bias and penalties to {@code row[offset, offset + vocab)} in place; {@code history} is
     * required when a penalty is on.
     */
    public static void apply(float[] row, int offset, SamplingParams params, TokenHistory history) {
        final LogitBias bias = params.logitBias();
        for (int i = 0; i < bias.size(); i++) {
            final int at = offset + bias.token(i);
            row[at] = biased(row[at], bias.bias(i));
        }
        if (!params.hasPenalties()) {
            return;
        }
        if (history == null) {
            throw new IllegalArgumentException("penalties need the sequence's token history");
        }
        final float repetition = (float) params.repetitionPenalty();
        final float frequency = (float) params.frequencyPenalty();
        final float presence = (float) params.presencePenalty();
        for (int e = 0; e < history.size(); e++) {
            final int at = offset + history.token(e);
            final int count = history.outputCount(e);
            float l = row[at];
            if (repetition != 1f && (count > 0 || history.inPrompt(e))) {
                l = repeated(l, repetition);
            }
            if (count > 0) {
                l = frequencyPresence(l, frequency, presence, count);
            }
            row[at] = l;
        }
    }

    static float biased(float logit, float bias) {
        return logit + bias;
    }

    static float repeated(float logit, float repetition) {
        return logit > 0f ? logit / repetition : logit * repetition;
    }

    static float frequencyPresence(float logit, float frequency, float presence, int count) {
        final float l = logit - frequency * (float) count;
        return l - presence;
    }
}
