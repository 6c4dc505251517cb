package io.splitserve.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.sampling.Sampler;
import io.splitserve.engine.sampling.TokenLogprobs;
import io.splitserve.model.LogitBias;
import io.splitserve.model.SamplingParams;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The engine's sampling hand-off on the CPU: every step's token is the argmax (or draw) of the step's raw logits
 * processed with the sequence's bias and penalties as computed here from its own token list (so the engine passes the
 * right prompt and output counts at every step), a re-prefill that carries its sampled tokens continues the same
 * tokens, logprobs come with the tokens that ask for them, and bad parameters are refused before anything runs.
 */
class EngineSamplingTest {
    private static final int[] PROMPT = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 5, 6};
    private static final int STEPS = 16;

    private static Engine llama() throws Exception {
        return Engine.load(GoldenFixture.resource("/fixtures/llama"), new EngineOptions().pageSize(4));
    }

    @Test
    void penalisedGreedyTokensAreTheArgmaxOfTheProcessedRawLogits() throws Exception {
        final SamplingParams params = SamplingParams.greedy().withPenalties(1.8, 0.7, 0.4)
                .withLogitBias(LogitBias.of(Map.of(7, 3.0, 30, -2.0)));
        final int[] penalised = new int[STEPS];
        final int[] plain = new int[STEPS];
        try (Engine engine = llama()) {
            final int vocab = engine.config().vocabSize();
            final float[] row = new float[vocab];
            engine.addSequence(PROMPT, params);
            final int[] output = new int[STEPS];
            for (int n = 0; n < STEPS; n++) {
                final int token = engine.step().get(0).token();
                engine.copyLogits(0, row);
                assertEquals(argmaxProcessed(row, params, Arrays.copyOf(output, n)), token, "step " + n);
                output[n] = token;
                penalised[n] = token;
            }
        }
        try (Engine engine = llama()) {
            engine.addSequence(PROMPT, SamplingParams.greedy());
            for (int n = 0; n < STEPS; n++) {
                plain[n] = engine.step().get(0).token();
            }
        }
        assertFalse(Arrays.equals(plain, penalised), "the penalties changed nothing: " + Arrays.toString(plain));
    }

    /** The test's own reading of vLLM's rule: bias, repetition over prompt and output, frequency/presence over output. */
    private static int argmaxProcessed(float[] raw, SamplingParams p, int[] output) {
        final float[] row = raw.clone();
        for (int i = 0; i < p.logitBias().size(); i++) {
            row[p.logitBias().token(i)] += p.logitBias().bias(i);
        }
        final boolean[] seen = new boolean[row.length];
        final int[] counts = new int[row.length];
        for (int t : PROMPT) {
            seen[t] = true;
        }
        for (int t : output) {
            seen[t] = true;
            counts[t]++;
        }
        final float rep = (float) p.repetitionPenalty();
        for (int t = 0; t < row.length; t++) {
            if (seen[t]) {
                row[t] = row[t] > 0 ? row[t] / rep : row[t] * rep;
            }
            if (counts[t] > 0) {
                row[t] = row[t] - (float) p.frequencyPenalty() * counts[t] - (float) p.presencePenalty();
            }
        }
        int best = 0;
        for (int t = 1; t < row.length; t++) {
            if (row[t] > row[best]) {
                best = t;
            }
        }
        return best;
    }

    @Test
    void aReprefillCarryingItsSampledTokensContinuesTheSameTokensAloneAndBatched() throws Exception {
        final SamplingParams params = new SamplingParams(0.9, 0, 0.95, 0, 321).withPenalties(1.4, 0.6, 0.3);
        final int[] whole = new int[STEPS];
        try (Engine engine = llama()) {
            engine.addSequence(PROMPT, params);
            for (int n = 0; n < STEPS; n++) {
                whole[n] = engine.step().get(0).token();
            }
        }
        final int cut = 6;
        final int[] resumedPrompt = Arrays.copyOf(PROMPT, PROMPT.length + cut);
        System.arraycopy(whole, 0, resumedPrompt, PROMPT.length, cut);
        try (Engine engine = llama()) {
            engine.addSequence(new int[] {40, 41, 42}, new SamplingParams(1, 0, 1, 0, 9).withPenalties(1.1, 0, 0.2));
            engine.step();
            final long id = engine.addSequence(resumedPrompt, params, cut);
            for (int n = cut; n < STEPS; n++) {
                for (StepOutput out : engine.step()) {
                    if (out.sequenceId() == id) {
                        assertEquals(whole[n], out.token(), "step " + n);
                    }
                }
            }
        }
    }

    @Test
    void logprobsComeWithTheTokensThatAskForThem() throws Exception {
        try (Engine engine = llama()) {
            final int vocab = engine.config().vocabSize();
            final long asking = engine.addSequence(PROMPT, new SamplingParams(0.8, 0, 1, 0, 4).withLogprobs(5)
                    .withPenalties(1.5, 0, 0));
            final long silent = engine.addSequence(new int[] {50, 51}, SamplingParams.greedy());
            final float[] row = new float[vocab];
            final Sampler reference = new Sampler(vocab);
            final TokenLogprobs expected = new TokenLogprobs();
            for (int n = 0; n < 4; n++) {
                final List<StepOutput> outputs = engine.step();
                for (int r = 0; r < outputs.size(); r++) {
                    final StepOutput out = outputs.get(r);
                    if (out.sequenceId() == silent) {
                        assertNull(out.logprobs());
                        continue;
                    }
                    assertEquals(asking, out.sequenceId());
                    final TokenLogprobs got = out.logprobs();
                    assertNotNull(got);
                    engine.copyLogits(r, row);
                    reference.logprobs(row, 0, vocab, out.token(), 5, expected);
                    assertEquals(out.token(), got.token());
                    assertEquals(expected.logprob(), got.logprob());
                    assertEquals(5, got.count());
                    for (int i = 0; i < 5; i++) {
                        assertEquals(expected.topToken(i), got.topToken(i));
                        assertEquals(expected.topLogprob(i), got.topLogprob(i));
                        assertTrue(i == 0 || got.topLogprob(i) <= got.topLogprob(i - 1));
                    }
                }
            }
        }
    }

    @Test
    void aDisaggregatedPrefillPicksTheFirstTokenAsAStepDoes() throws Exception {
        final SamplingParams params = SamplingParams.greedy().withPenalties(3, 0, 0).withLogprobs(2);
        final int stepped;
        try (Engine engine = llama()) {
            engine.addSequence(PROMPT, params);
            stepped = engine.step().get(0).token();
        }
        try (Engine engine = llama()) {
            final int[] first = engine.prefill(List.of(PROMPT, new int[] {60, 61}),
                    List.of(params, SamplingParams.greedy()), (p, l, k, ko, v, vo, t) -> { });
            assertEquals(stepped, first[0]);
            assertEquals(stepped, engine.prefillLogprobs(0).token());
            assertEquals(2, engine.prefillLogprobs(0).count());
            assertNull(engine.prefillLogprobs(1));
        }
    }

    @Test
    void badSamplingIsRefusedBeforeAnythingRuns() throws Exception {
        try (Engine engine = llama()) {
            final int vocab = engine.config().vocabSize();
            final SamplingParams outside = SamplingParams.greedy().withLogitBias(LogitBias.of(Map.of(vocab, 1.0)));
            // a bias on the id one past the vocabulary: refused by addSequence and prefill, naming it
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> engine.addSequence(PROMPT, outside));
            assertTrue(e.getMessage().contains("logit bias token id " + vocab + " is outside the vocabulary"),
                    e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> engine.prefill(List.of(PROMPT), List.of(outside),
                    (p, l, k, ko, v, vo, t) -> { }));
            // penalties on imported KV whose token ids were not given: the prompt half of the history is unknown
            final ImportedKv kv = engine.reserveImported(PROMPT.length);
            final IllegalArgumentException noIds = assertThrows(IllegalArgumentException.class,
                    () -> engine.admitImported(kv, 3, SamplingParams.greedy().withPenalties(1.2, 0, 0), 1));
            assertTrue(noIds.getMessage().contains("token ids"), noIds.getMessage());
            engine.releaseImported(kv);
            assertEquals(0, engine.sequenceCount());
            assertEquals(engine.totalPages(), engine.freePages());
        }
    }
}
