package io.splitserve.perf.kv;

import io.splitserve.engine.Engine;
import io.splitserve.engine.StepOutput;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.SamplingParams;
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

    /**
     * The first {@code steps} greedy tokens of {@code prompt} when {@code engine} alone serves it; the engine is left
     * as it was found.
     */
    static int[] alone(Engine engine, int[] prompt, int steps) {
        final long sequence = engine.addSequence(prompt, SamplingParams.greedy());
        try {
            final int[] tokens = new int[steps];
            for (int n = 0; n < steps; n++) {
                tokens[n] = onlyToken(engine.step(), sequence);
            }
            return tokens;
        } finally {
            engine.release(sequence);
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
