package io.splitserve.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.model.SamplingParams;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The proof of correctness: the CPU engine reproduces Hugging Face transformers on the three committed fixtures
 * (Llama with llama3 rope scaling and tied embeddings; Qwen2 with q/k/v bias, untied, bf16 weights; Qwen3 with q/k
 * norm and head_dim != hidden/heads): logits within 1e-4 at every prompt position, identical greedy continuations
 * of 32 tokens, and the same continuations when the prompts are batched together and join at different steps.
 */
class GoldenModelTest {
    private static final float LOGIT_TOLERANCE = 1e-4f;
    private static final int NEW_TOKENS = 32;

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3"})
    void ropeTableMatchesTransformers(String name) throws Exception {
        final GoldenFixture fixture = new GoldenFixture(name);
        try (Engine engine = Engine.load(fixture.dir, new EngineOptions())) {
            final float[] ours = engine.config().ropeInvFreq();
            assertEquals(fixture.invFreq.length, ours.length);
            for (int i = 0; i < ours.length; i++) {
                assertEquals(fixture.invFreq[i], ours[i], 1e-6f * fixture.invFreq[i], "inv_freq " + i);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3"})
    void logitsAtEveryPositionMatchTransformers(String name) throws Exception {
        final GoldenFixture fixture = new GoldenFixture(name);
        try (Engine engine = Engine.load(fixture.dir, new EngineOptions().pageSize(16))) {
            for (int p = 0; p < fixture.prompts.length; p++) {
                final float[][] ours = engine.promptLogits(fixture.prompts[p]);
                float maxError = 0;
                for (int t = 0; t < ours.length; t++) {
                    for (int v = 0; v < ours[t].length; v++) {
                        maxError = Math.max(maxError, Math.abs(ours[t][v] - fixture.logits[p][t][v]));
                    }
                }
                assertEquals(fixture.logits[p].length, ours.length);
                assertTrue(maxError < LOGIT_TOLERANCE, name + " prompt " + p + ": max abs logit error " + maxError);
            }
            assertEquals(engine.totalPages(), engine.freePages(), "promptLogits returns its pages");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3"})
    void greedyContinuationEqualsTransformersOneSequenceAtATime(String name) throws Exception {
        final GoldenFixture fixture = new GoldenFixture(name);
        try (Engine engine = Engine.load(fixture.dir, new EngineOptions().pageSize(16))) {
            for (int p = 0; p < fixture.prompts.length; p++) {
                final long id = engine.addSequence(fixture.prompts[p], SamplingParams.greedy());
                final int[] generated = new int[NEW_TOKENS];
                for (int i = 0; i < NEW_TOKENS; i++) {
                    final List<StepOutput> out = engine.step();
                    assertEquals(1, out.size());
                    assertEquals(id, out.get(0).sequenceId());
                    generated[i] = out.get(0).token();
                }
                engine.release(id);
                assertArrayEquals(fixture.greedy[p], generated, name + " prompt " + p);
                assertEquals(engine.totalPages(), engine.freePages());
            }
        }
    }

    /**
     * All prompts in one engine with page size 1 (token-level pages, maximally fragmented once sequences
     * interleave): two prompts prefill together in the first step, the third joins at step 5 while the others
     * decode, so steps mix prefill and decode rows.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3"})
    void batchedGreedyEqualsUnbatched(String name) throws Exception {
        final GoldenFixture fixture = new GoldenFixture(name);
        try (Engine engine = Engine.load(fixture.dir, new EngineOptions().pageSize(1))) {
            final Map<Long, Integer> promptOf = new HashMap<>();
            final Map<Long, int[]> generated = new HashMap<>();
            final Map<Long, Integer> count = new HashMap<>();
            for (int p = 0; p < 2; p++) {
                final long id = engine.addSequence(fixture.prompts[p], SamplingParams.greedy());
                promptOf.put(id, p);
                generated.put(id, new int[NEW_TOKENS]);
                count.put(id, 0);
            }
            int steps = 0;
            while (engine.hasWork()) {
                if (steps == 5) {
                    final long id = engine.addSequence(fixture.prompts[2], SamplingParams.greedy());
                    promptOf.put(id, 2);
                    generated.put(id, new int[NEW_TOKENS]);
                    count.put(id, 0);
                }
                for (StepOutput out : engine.step()) {
                    final int n = count.get(out.sequenceId());
                    generated.get(out.sequenceId())[n] = out.token();
                    count.put(out.sequenceId(), n + 1);
                    if (n + 1 == NEW_TOKENS) {
                        engine.release(out.sequenceId());
                    }
                }
                steps++;
            }
            assertEquals(3, generated.size());
            for (Map.Entry<Long, int[]> e : generated.entrySet()) {
                final int p = promptOf.get(e.getKey());
                assertArrayEquals(fixture.greedy[p], e.getValue(), name + " prompt " + p + " in a batch");
            }
            assertEquals(engine.totalPages(), engine.freePages(), "every page returned");
        }
    }
}
