package io.splitserve.perf.kv;

import io.splitserve.engine.StepOutput;
import io.splitserve.model.ModelConfig;
import java.util.List;

/**
 * How the KV benchmarks check that moved KV decodes like the prefill engine alone: the same deterministic prompts,
 * prompts that leave room for the checked decode steps in the model's context, one token per step of the one
 * sequence decoding, and the count of leading greedy tokens two decodes agree on.
 */
final class GreedyCheck {
    private GreedyCheck() {
    }

    /** A deterministic prompt of ids spread over the vocabulary (skipping the first three, often special). */
    static int[] prompt(int vocab, int length) {
        final int[] tokens = new int[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = 3 + (int) ((i * 2654435761L) % (vocab - 3));
        }
        return tokens;
    }

    /** @throws IllegalArgumentException when a prompt of some length and {@code steps} decode steps exceed the context. */
    static void requireContext(ModelConfig config, int[] lengths, int steps) {
        for (int length : lengths) {
            if (length + steps >= config.maxPositionEmbeddings()) {
                throw new IllegalArgumentException("a prompt of " + length + " tokens and " + steps
                        + " checked decode steps exceed the model's context of " + config.maxPositionEmbeddings()
                        + " tokens");
            }
        }
    }

    /** The token a step sampled for {@code sequence}, the only sequence decoding. */
    static int onlyToken(List<StepOutput> outputs, long sequence) {
        if (outputs.size() != 1 || outputs.get(0).sequenceId() != sequence) {
            throw new IllegalStateException("expected one token of sequence " + sequence + ", the step gave "
                    + outputs.size());
        }
        return outputs.get(0).token();
    }

    /** How many leading tokens {@code a} and {@code b} share. */
    static int commonPrefix(int[] a, int[] b) {
        int n = 0;
        while (n < a.length && n < b.length && a[n] == b[n]) {
            n++;
        }
        return n;
    }
}
