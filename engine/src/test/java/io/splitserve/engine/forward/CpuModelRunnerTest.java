package io.splitserve.engine.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import io.splitserve.model.ModelConfig;
import io.splitserve.engine.weights.DecoderWeights;
import java.net.URL;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A ragged batch gives exactly the logits each sequence gets alone: several prompts of different lengths prefilled
 * in one step without padding, then one step mixing decode rows of those sequences with a new prompt's prefill,
 * with pages interleaved between sequences.
 */
class CpuModelRunnerTest {

    private static Path fixture(String name) throws Exception {
        final URL url = CpuModelRunnerTest.class.getResource("/fixtures/" + name);
        return Path.of(url.toURI());
    }

    private static int[] tokens(int seed, int n, int vocab) {
        final int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = (seed * 31 + i * 17) % vocab;
        }
        return t;
    }

    /** Runs each sequence alone in a fresh cache: prefill of {@code prompt}, then one decode of {@code next}. */
    private static float[][] alone(ModelConfig c, DecoderWeights<float[], float[], CpuLinear> w, int pageSize, int[] prompt, int next) {
        final BlockManager blocks = new BlockManager(64, pageSize);
        final CpuModelRunner runner = new CpuModelRunner(c, w,
                new CpuKvCache(c.numLayers(), 64, pageSize, c.numKvHeads(), c.headDim()));
        final BatchStep step = new BatchStep();
        final BlockTable table = new BlockTable();
        blocks.ensureCapacity(table, prompt.length + 1);
        step.addSequence(prompt, 0, prompt.length, 0, table, blocks, BatchStep.Logits.LAST);
        final float[] prefill = new float[c.vocabSize()];
        runner.forward(step, prefill);
        step.clear();
        step.addSequence(new int[] {next}, 0, 1, prompt.length, table, blocks, BatchStep.Logits.LAST);
        final float[] decode = new float[c.vocabSize()];
        runner.forward(step, decode);
        return new float[][] {prefill, decode};
    }

    @ParameterizedTest
    @CsvSource({"llama,16", "qwen2,1", "qwen3,3"})
    void batchedLogitsAreIdenticalToEachSequenceAlone(String name, int pageSize) throws Exception {
        final Path dir = fixture(name);
        final ModelConfig c = ModelConfig.load(dir);
        final DecoderWeights<float[], float[], CpuLinear> w = CpuWeights.load(dir, c);
        final int vocab = c.vocabSize();
        final int[][] prompts = {tokens(1, 17, vocab), tokens(2, 1, vocab), tokens(3, 40, vocab), tokens(4, 5, vocab)};
        final int[] next = {7, 8, 9, 10};

        final BlockManager blocks = new BlockManager(256, pageSize);
        final CpuModelRunner runner = new CpuModelRunner(c, w,
                new CpuKvCache(c.numLayers(), 256, pageSize, c.numKvHeads(), c.headDim()));
        final BlockTable[] tables = new BlockTable[prompts.length];
        for (int s = 0; s < prompts.length; s++) {
            tables[s] = new BlockTable();
        }
        // interleave page allocation so every sequence's pages are scattered
        for (int len = 1; len <= 41; len++) {
            for (int s = 0; s < prompts.length; s++) {
                blocks.ensureCapacity(tables[s], Math.min(len, prompts[s].length + 1));
            }
        }
        // step 1: prompts 0..2 prefilled together
        final BatchStep step = new BatchStep();
        for (int s = 0; s < 3; s++) {
            step.addSequence(prompts[s], 0, prompts[s].length, 0, tables[s], blocks, BatchStep.Logits.LAST);
        }
        final float[] prefill = new float[3 * vocab];
        runner.forward(step, prefill);
        // step 2: prompts 0..2 decode one token each while prompt 3 is prefilled
        step.clear();
        for (int s = 0; s < 3; s++) {
            step.addSequence(new int[] {next[s]}, 0, 1, prompts[s].length, tables[s], blocks, BatchStep.Logits.LAST);
        }
        step.addSequence(prompts[3], 0, prompts[3].length, 0, tables[3], blocks, BatchStep.Logits.LAST);
        assertEquals(3 + prompts[3].length, step.numTokens());
        final float[] mixed = new float[4 * vocab];
        runner.forward(step, mixed);

        for (int s = 0; s < 3; s++) {
            final float[][] expected = alone(c, w, pageSize, prompts[s], next[s]);
            assertArrayEquals(expected[0], Arrays.copyOfRange(prefill, s * vocab, (s + 1) * vocab),
                    "prefill logits of sequence " + s);
            assertArrayEquals(expected[1], Arrays.copyOfRange(mixed, s * vocab, (s + 1) * vocab),
                    "decode logits of sequence " + s);
        }
        assertArrayEquals(alone(c, w, pageSize, prompts[3], next[3])[0],
                Arrays.copyOfRange(mixed, 3 * vocab, 4 * vocab), "prefill in a mixed step");
    }
}
