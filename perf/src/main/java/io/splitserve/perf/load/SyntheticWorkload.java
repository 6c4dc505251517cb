package io.splitserve.perf.load;

import java.util.SplittableRandom;

/**
 * Requests drawn from a {@link WorkloadMix}: lengths and prompt words both come from one seeded source, so the same
 * seed, mix and tokenizer give the same request sequence on every run and every machine.
 */
public final class SyntheticWorkload implements Workload {
    private final WorkloadMix mix;
    private final PromptFactory prompts;
    private final long seed;
    private final SplittableRandom random;

    public SyntheticWorkload(WorkloadMix mix, PromptFactory prompts, long seed) {
        this.mix = mix;
        this.prompts = prompts;
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    @Override
    public synchronized RequestSpec next() {
        final int[] lengths = mix.sample(random);
        return new RequestSpec(prompts.prompt(lengths[0], random), lengths[0], lengths[1]);
    }

    @Override
    public String describe() {
        return mix.describe() + "; seed " + seed;
    }
}
