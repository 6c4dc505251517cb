package io.splitserve.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.model.LogitBias;
import io.splitserve.model.SamplingParams;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Logit bias, penalties and logprobs on small rows computed by hand: each penalty and the bias move exactly the
 * tokens vLLM's semantics name by exactly the amounts it gives (the repetition penalty counts prompt tokens, frequency
 * and presence do not), greedy rows take the processed argmax, sampled rows follow the processed softmax (chi-square),
 * and logprobs equal a double-precision log-softmax of the raw row computed independently.
 */
class LogitProcessingTest {
    private static final float[] ROW = {2.0f, -1.0f, 1.5f, 0.2f, -0.5f, 0.0f};
    private static final SamplingParams GREEDY = SamplingParams.greedy();

    /** Prompt {0, 1, 5}; output 2, 2, 3 (so token 2 twice, 3 once). */
    private static TokenHistory history() {
        return TokenHistory.of(new int[] {0, 1, 5, 2, 2, 3}, 6, 3);
    }

    private static float[] processed(SamplingParams params, TokenHistory history) {
        final float[] row = ROW.clone();
        LogitProcessor.apply(row, 0, params, history);
        return row;
    }

    @Test
    void historySeparatesPromptFromOutput() {
        final TokenHistory h = history();
        assertEquals(5, h.size());
        assertTrue(h.inPromptOf(0));
        assertTrue(h.inPromptOf(5));
        assertFalse(h.inPromptOf(2));
        assertEquals(2, h.outputCountOf(2));
        assertEquals(1, h.outputCountOf(3));
        assertEquals(0, h.outputCountOf(0));
        h.addOutput(0);
        assertEquals(1, h.outputCountOf(0));
        assertTrue(h.inPromptOf(0));
        // a large history grows its table and keeps every count
        final int[] many = IntStream.range(0, 5000).map(i -> (i * 7919) % 1000).toArray();
        final TokenHistory big = TokenHistory.of(many, many.length, many.length);
        assertEquals(1000, big.size());
        assertEquals(5, big.outputCountOf(13));
    }

    @Test
    void biasIsAddedToItsTokensOnly() {
        final SamplingParams params = GREEDY.withLogitBias(LogitBias.of(Map.of(1, 5.0, 4, -100.0)));
        assertArrayEquals(new float[] {2.0f, 4.0f, 1.5f, 0.2f, -100.5f, 0.0f}, processed(params, null));
        final Sampler sampler = new Sampler(ROW.length);
        assertEquals(0, sampler.sample(ROW, 0, ROW.length, GREEDY, 0));
        assertEquals(1, sampler.sample(ROW, 0, ROW.length, params, 0)); // the bias moved the argmax
    }

    @Test
    void repetitionPenaltyCountsPromptAndOutputTokens() {
        final float[] got = processed(GREEDY.withPenalties(2, 0, 0), history());
        // tokens 0, 1, 5 (prompt) and 2, 3 (output) divide a positive logit, multiply a negative one; 4 untouched
        assertArrayEquals(new float[] {1.0f, -2.0f, 0.75f, 0.1f, -0.5f, 0.0f}, got);
        final Sampler sampler = new Sampler(ROW.length);
        assertEquals(0, sampler.sample(ROW, 0, ROW.length, GREEDY, 0, history()));
        // a prompt holding only token 0: at penalty 2 its logit 1.0 falls below token 2's 1.5
        final TokenHistory promptOnly = TokenHistory.of(new int[] {0}, 1, 0);
        assertEquals(0, sampler.sample(ROW, 0, ROW.length, GREEDY.withPenalties(1.3, 0, 0), 0, promptOnly));
        assertEquals(2, sampler.sample(ROW, 0, ROW.length, GREEDY.withPenalties(2, 0, 0), 0, promptOnly));
        // frequency and presence ignore that prompt token
        assertEquals(0, sampler.sample(ROW, 0, ROW.length, GREEDY.withPenalties(1, 2, 2), 0, promptOnly));
    }

    @Test
    void frequencyAndPresencePenaltiesCountOutputTokensOnly() {
        final float[] got = processed(GREEDY.withPenalties(1, 0.5, 0.25), history());
        // token 2: 1.5 - 0.5 * 2 - 0.25; token 3: 0.2 - 0.5 * 1 - 0.25; prompt tokens 0, 1, 5 untouched
        assertArrayEquals(new float[] {2.0f, -1.0f, (1.5f - 1.0f) - 0.25f, (0.2f - 0.5f) - 0.25f, -0.5f, 0.0f}, got);
        // a negative presence penalty favours the output's tokens
        assertEquals(2, new Sampler(ROW.length).sample(ROW, 0, ROW.length, GREEDY.withPenalties(1, 0, -1), 0,
                history()));
    }

    @Test
    void biasComesBeforeThePenalties() {
        final SamplingParams params = GREEDY.withLogitBias(LogitBias.of(Map.of(2, 1.0))).withPenalties(2, 0.5, 0);
        // token 2: ((1.5 + 1) / 2) - 0.5 * 2
        assertEquals((2.5f / 2f) - 0.5f * 2f, processed(params, history())[2]);
    }

    @Test
    void penaltiesWithoutAHistoryOrABiasOutsideTheRowAreRefused() {
        final Sampler sampler = new Sampler(ROW.length);
        // a penalty needs the sequence's tokens
        assertThrows(IllegalArgumentException.class,
                () -> sampler.sample(ROW, 0, ROW.length, GREEDY.withPenalties(1.2, 0, 0), 0));
        // a bias on token 6 of a 6-token row
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sampler.sample(ROW, 0,
                ROW.length, GREEDY.withLogitBias(LogitBias.of(Map.of(6, 1.0))), 0));
        assertTrue(e.getMessage().contains("outside the vocabulary of 6"), e.getMessage());
        // a row of a batch that has penalties but no history
        assertThrows(IllegalArgumentException.class,
                () -> new SamplingBatch().add(GREEDY.withPenalties(1, 0.1, 0), 0, null));
    }

    @Test
    void sampledRowsFollowTheSoftmaxOfTheProcessedLogits() {
        // probabilities 0.4, 0.25, 0.15, 0.1, 0.06, 0.04; a bias of ln 2 on token 5 and a presence penalty of ln 2 on
        // the output token 0 give weights 0.2, 0.25, 0.15, 0.1, 0.06, 0.08
        final double[] p = {0.4, 0.25, 0.15, 0.1, 0.06, 0.04};
        final float[] logits = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            logits[i] = (float) Math.log(p[i]);
        }
        final double ln2 = Math.log(2);
        final TokenHistory history = TokenHistory.of(new int[] {3, 0}, 2, 1);
        final double[] expected = {0.2, 0.25, 0.15, 0.1, 0.06, 0.08};
        final double z = Arrays.stream(expected).sum();
        final Sampler sampler = new Sampler(p.length);
        final int draws = 40000;
        final int[] counts = new int[p.length];
        for (int seed = 0; seed < draws; seed++) {
            final SamplingParams params = new SamplingParams(1, 0, 1, 0, seed).withPenalties(1, 0, ln2)
                    .withLogitBias(LogitBias.of(Map.of(5, ln2)));
            counts[sampler.sample(logits, 0, p.length, params, 0, history)]++;
        }
        double chiSquare = 0;
        for (int i = 0; i < p.length; i++) {
            final double e = draws * expected[i] / z;
            chiSquare += (counts[i] - e) * (counts[i] - e) / e;
        }
        assertTrue(chiSquare < 20.52, "chi-square " + chiSquare + " over 5 degrees of freedom, counts "
                + Arrays.toString(counts)); // the 0.1% quantile
    }

    @Test
    void seededPenalisedDrawsAreReproducible() {
        final Random rnd = new Random(5);
        final float[] row = new float[1000];
        for (int i = 0; i < row.length; i++) {
            row[i] = (float) rnd.nextGaussian() * 3f;
        }
        final float[] before = row.clone();
        final SamplingParams params = new SamplingParams(0.8, 0, 0.95, 0, 77).withPenalties(1.3, 0.4, 0.2);
        final TokenHistory history = TokenHistory.of(new int[] {1, 2, 3, 4, 5, 4}, 6, 2);
        final int first = new Sampler(row.length).sample(row, 0, row.length, params, 9, history);
        assertEquals(first, new Sampler(row.length).sample(row, 0, row.length, params, 9, history));
        assertArrayEquals(before, row); // the caller's logits stay raw
    }

    @Test
    void logprobsEqualADoublePrecisionLogSoftmaxOfTheRawRow() {
        final Random rnd = new Random(11);
        final float[] row = new float[3001];
        for (int i = 0; i < row.length; i++) {
            row[i] = (float) rnd.nextGaussian() * 4f;
        }
        row[17] = row[2999] = 13f; // a tie at the top: the lower id comes first
        final double[] reference = logSoftmax(row);
        final Integer[] order = IntStream.range(0, row.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -row[i]).thenComparingInt(i -> i));
        final Sampler sampler = new Sampler(row.length);
        final TokenLogprobs out = new TokenLogprobs();
        final SamplingParams params = new SamplingParams(1, 0, 1, 0, 3).withLogprobs(20)
                .withPenalties(3, 2, 2).withLogitBias(LogitBias.of(Map.of(17, -100.0)));
        final TokenHistory history = TokenHistory.of(new int[] {2999}, 1, 1);
        final int chosen = sampler.sample(row, 0, row.length, params, 0, history);
        sampler.logprobs(row, 0, row.length, chosen, 20, out);
        assertEquals(chosen, out.token());
        assertEquals((float) reference[chosen], out.logprob());
        assertEquals(20, out.count());
        assertEquals(17, out.topToken(0)); // raw logits: the bias and penalties do not show
        assertEquals(2999, out.topToken(1));
        for (int r = 0; r < 20; r++) {
            assertEquals(order[r], out.topToken(r), "rank " + r);
            assertEquals((float) reference[order[r]], out.topLogprob(r), "rank " + r);
        }
        sampler.logprobs(row, 0, row.length, chosen, 0, out);
        assertEquals(0, out.count());
        assertThrows(IndexOutOfBoundsException.class, () -> out.topToken(0));
    }

    /** log(softmax) in double with a different summation: a shift by the mean, then the exact log of the sum. */
    private static double[] logSoftmax(float[] row) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (int i = row.length - 1; i >= 0; i--) {
            sum += Math.exp(row[i] - max);
        }
        final double[] out = new double[row.length];
        for (int i = 0; i < row.length; i++) {
            out[i] = row[i] - max - Math.log(sum);
        }
        return out;
    }
}
