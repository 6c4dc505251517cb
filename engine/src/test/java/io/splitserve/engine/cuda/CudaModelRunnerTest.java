package io.splitserve.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.Backend;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.ImportedKv;
import io.splitserve.engine.StepOutput;
import io.splitserve.engine.demo.DemoModel;
import io.splitserve.engine.forward.BatchStep;
import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import io.splitserve.engine.sampling.Sampler;
import io.splitserve.engine.sampling.SamplingBatch;
import io.splitserve.kernels.cuda.GpuTest;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.SamplingParams;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CUDA runner against the CPU engine (which matches Hugging Face transformers on the committed fixtures) on
 * small random bf16 models of each architecture: teacher-forced logits of a ragged prefill of three prompts, then
 * batched decode steps padded to a graph bucket, agree with the CPU's at every position (cosine similarity and
 * top-1); graphs equal eager launches; a sequence gets the same logits alone or batched, whole or in prefill
 * chunks; on-device greedy picks the argmax of the logits. Imported KV copied into the pages layer by layer on the
 * import stream while decode steps run on the compute stream gives what a whole import at admission gives, and a
 * released partial import leaves its pages clean for the next sequence.
 */
@GpuTest
class CudaModelRunnerTest {
    private static final int PAGE = 16;
    private static final int DECODE_STEPS = 6;
    private static final int[] LENGTHS = {40, 75, 150};
    private static final double MIN_COSINE = 0.999;
    private static final double MIN_TOP1 = 0.95;
    private static final int IMPORT_STEPS = 12;
    private static final float CLEAR_MARGIN = 0.05f;

    @TempDir
    static Path models;

    @ParameterizedTest
    @ValueSource(strings = {"qwen2", "llama", "qwen3"})
    void teacherForcedLogitsMatchTheCpuEngineWithAndWithoutGraphs(String arch) throws Exception {
        final Path dir = RandomModels.write(arch, models.resolve(arch));
        final int[][] sequences = new int[LENGTHS.length][];
        final float[][][] reference = new float[LENGTHS.length][][];
        try (Engine cpu = Engine.load(dir, new EngineOptions().pageSize(PAGE))) {
            for (int s = 0; s < sequences.length; s++) {
                sequences[s] = RandomModels.tokens(s + 1, LENGTHS[s]);
                reference[s] = cpu.promptLogits(sequences[s]);
            }
        }
        final float[][][] graphed = runBatched(dir, true, sequences);
        final float[][][] eager = runBatched(dir, false, sequences);
        final Agreement agreement = new Agreement();
        for (int s = 0; s < sequences.length; s++) {
            for (int t = 0; t < LENGTHS[s]; t++) {
                agreement.add(arch + " seq " + s + " pos " + t, reference[s][t], graphed[s][t]);
                agreement.add(arch + " eager seq " + s + " pos " + t, reference[s][t], eager[s][t]);
            }
            for (int t = LENGTHS[s] - DECODE_STEPS; t < LENGTHS[s]; t++) {
                assertTrue(cosine(graphed[s][t], eager[s][t]) > 0.99999, arch + ": graph and eager decode differ at "
                        + t);
            }
        }
        assertTrue(agreement.top1() >= MIN_TOP1, arch + ": top-1 agreement " + agreement.top1());
    }

    /**
     * Prefills every sequence but its last {@link #DECODE_STEPS} tokens in one ragged step, then decodes those
     * tokens teacher-forced, all sequences in each step; returns the logits at every position.
     */
    private static float[][][] runBatched(Path dir, boolean graphs, int[][] sequences) throws Exception {
        final ModelConfig config = ModelConfig.load(dir);
        final int vocab = config.vocabSize();
        final EngineOptions options = new EngineOptions().pageSize(PAGE).maxPages(64).cudaGraphs(graphs);
        try (CudaModelRunner runner = CudaModelRunner.open(dir, config, options)) {
            final BlockManager blocks = new BlockManager(runner.pageCount(), PAGE);
            final BlockTable[] tables = new BlockTable[sequences.length];
            final float[][][] out = new float[sequences.length][][];
            final BatchStep step = new BatchStep();
            int rows = 0;
            for (int s = 0; s < sequences.length; s++) {
                tables[s] = new BlockTable();
                out[s] = new float[sequences[s].length][];
                final int prompt = sequences[s].length - DECODE_STEPS;
                blocks.ensureCapacity(tables[s], prompt);
                step.addSequence(sequences[s], 0, prompt, 0, tables[s], blocks, BatchStep.Logits.ALL);
                rows += prompt;
            }
            float[] logits = new float[rows * vocab];
            runner.forward(step, logits);
            int row = 0;
            for (int s = 0; s < sequences.length; s++) {
                for (int t = 0; t < sequences[s].length - DECODE_STEPS; t++) {
                    out[s][t] = slice(logits, row++, vocab);
                }
            }
            for (int d = 0; d < DECODE_STEPS; d++) {
                step.clear();
                for (int s = 0; s < sequences.length; s++) {
                    final int position = sequences[s].length - DECODE_STEPS + d;
                    blocks.ensureCapacity(tables[s], position + 1);
                    step.addSequence(sequences[s], position, 1, position, tables[s], blocks, BatchStep.Logits.LAST);
                }
                runner.forward(step, logits);
                for (int s = 0; s < sequences.length; s++) {
                    out[s][sequences[s].length - DECODE_STEPS + d] = slice(logits, s, vocab);
                }
            }
            if (graphs) {
                assertTrue(runner.graphsCaptured() >= 1, "decode steps ran as graphs");
            } else {
                assertEquals(0, runner.graphsCaptured());
            }
            return out;
        }
    }

    @Test
    void aSequenceGetsTheSameLogitsAloneBatchedAndInChunks() throws Exception {
        final Path dir = RandomModels.write("qwen2", models.resolve("qwen2-batching"));
        final ModelConfig config = ModelConfig.load(dir);
        final int vocab = config.vocabSize();
        final int[] a = RandomModels.tokens(11, 100);
        final int[] b = RandomModels.tokens(12, 37);
        final int[] c = RandomModels.tokens(13, 64);
        try (CudaModelRunner runner = CudaModelRunner.open(dir, config,
                new EngineOptions().pageSize(PAGE).maxPages(64))) {
            final BlockManager blocks = new BlockManager(runner.pageCount(), PAGE);
            final BatchStep step = new BatchStep();
            final float[] alone = new float[vocab];
            final BlockTable ta = new BlockTable();
            blocks.ensureCapacity(ta, a.length);
            step.addSequence(a, 0, a.length, 0, ta, blocks, BatchStep.Logits.LAST);
            runner.forward(step, alone);
            blocks.release(ta);

            final float[] batched = new float[3 * vocab];
            final BlockTable[] tables = {new BlockTable(), new BlockTable(), new BlockTable()};
            step.clear();
            final int[][] prompts = {b, a, c};
            for (int s = 0; s < 3; s++) {
                blocks.ensureCapacity(tables[s], prompts[s].length);
                step.addSequence(prompts[s], 0, prompts[s].length, 0, tables[s], blocks, BatchStep.Logits.LAST);
            }
            runner.forward(step, batched);
            assertTrue(cosine(alone, slice(batched, 1, vocab)) > 0.9999, "alone vs batched");

            final BlockTable chunkedTable = new BlockTable();
            final float[] chunked = new float[vocab];
            for (int from = 0; from < a.length; from += 32) {
                final int count = Math.min(32, a.length - from);
                final boolean last = from + count == a.length;
                blocks.ensureCapacity(chunkedTable, from + count);
                step.clear();
                step.addSequence(a, from, count, from, chunkedTable, blocks,
                        last ? BatchStep.Logits.LAST : BatchStep.Logits.NONE);
                runner.forward(step, chunked);
            }
            assertTrue(cosine(alone, chunked) > 0.9999, "whole vs chunked prefill: " + cosine(alone, chunked));

            final int[] greedy = new int[3];
            step.clear();
            for (int s = 0; s < 3; s++) {
                blocks.ensureCapacity(tables[s], prompts[s].length + 1);
                step.addSequence(new int[] {5}, 0, 1, prompts[s].length, tables[s], blocks, BatchStep.Logits.LAST);
            }
            runner.forward(step, batched);
            runner.forwardSampled(step, SamplingBatch.greedy(3), greedy);
            assertArrayEquals(new int[] {argmax(slice(batched, 0, vocab)), argmax(slice(batched, 1, vocab)),
                    argmax(slice(batched, 2, vocab))}, greedy);

            // sampled rows beside a greedy one: the kernel picks what the host sampler picks from the same logits
            final SamplingParams[] params = {new SamplingParams(0.7, 0, 0.9, 0, 11), SamplingParams.greedy(),
                    new SamplingParams(1.3, 40, 1, 0.02, 12)};
            final Sampler sampler = new Sampler(vocab);
            final SamplingBatch sampling = new SamplingBatch();
            final int[] picked = new int[3];
            for (long counter = 0; counter < 6; counter++) {
                sampling.clear();
                for (SamplingParams p : params) {
                    sampling.add(p, counter);
                }
                runner.forwardSampled(step, sampling, picked);
                for (int s = 0; s < 3; s++) {
                    assertEquals(sampler.sample(batched, s * vocab, vocab, params[s], counter), picked[s],
                            "row " + s + " at counter " + counter);
                }
            }
        }
    }

    @Test
    void engineOnCudaScoresPromptsLikeTheCpuEngine() throws Exception {
        final Path dir = RandomModels.write("qwen3", models.resolve("qwen3-engine"));
        final int[] prompt = RandomModels.tokens(21, 50);
        final float[][] cpuLogits;
        try (Engine cpu = Engine.load(dir, new EngineOptions())) {
            cpuLogits = cpu.promptLogits(prompt);
        }
        try (Engine gpu = Engine.load(dir, new EngineOptions().backend(Backend.AUTO).maxPages(32))) {
            assertTrue(gpu.backend().startsWith("cuda ("), gpu.backend());
            final float[][] gpuLogits = gpu.promptLogits(prompt);
            final Agreement agreement = new Agreement();
            for (int t = 0; t < prompt.length; t++) {
                agreement.add("engine pos " + t, cpuLogits[t], gpuLogits[t]);
            }
            assertTrue(agreement.top1() >= MIN_TOP1, "top-1 agreement " + agreement.top1());
        }
    }

    /** Greedy tokens and the logits behind them of the imported sequence (a) and the one decoding beside it (b). */
    private record BesideDecode(int[] aTokens, float[][] aLogits, int[] bTokens) {
    }

    /**
     * On a fresh CUDA engine: b is prefilled and decodes one token per step; a's KV (computed by another engine) is
     * written into an import layer by layer with one decode step of b after each layer, imported as each layer is
     * written ({@code layered}) or all at admission; then a is admitted and both decode together.
     */
    private static BesideDecode importBesideDecode(Path dir, EngineOptions options, int[] b, byte[][][] aKv,
                                                   int aFirst, boolean layered) throws Exception {
        try (Engine decode = Engine.load(dir, options)) {
            final int vocab = decode.config().vocabSize();
            final long idB = decode.addSequence(b, SamplingParams.greedy());
            final int[] bTokens = new int[aKv.length + IMPORT_STEPS];
            bTokens[0] = decode.step().get(0).token();
            final int tokens = aKv[0][0].length / (decode.config().kvDim() * 2);
            final ImportedKv kv = decode.reserveImported(tokens);
            for (int layer = 0; layer < aKv.length; layer++) {
                kv.bytes().put(kv.partOffset(layer, false), aKv[layer][0]);
                kv.bytes().put(kv.partOffset(layer, true), aKv[layer][1]);
                if (layered) {
                    decode.importLayer(kv, layer);
                }
                final List<StepOutput> out = decode.step(); // on the compute stream while the layer's copy may run
                assertEquals(idB, out.get(0).sequenceId());
                bTokens[layer + 1] = out.get(0).token();
            }
            final long idA = decode.admitImported(kv, aFirst, SamplingParams.greedy(), 1);
            final int[] aTokens = new int[IMPORT_STEPS];
            final float[][] aLogits = new float[IMPORT_STEPS][vocab];
            aTokens[0] = aFirst;
            for (int n = 1; n < IMPORT_STEPS; n++) {
                final List<StepOutput> out = decode.step();
                assertEquals(List.of(idB, idA), List.of(out.get(0).sequenceId(), out.get(1).sequenceId()));
                bTokens[aKv.length + n] = out.get(0).token();
                aTokens[n] = out.get(1).token();
                decode.copyLogits(1, aLogits[n]);
            }
            return new BesideDecode(aTokens, aLogits, bTokens);
        }
    }

    @Test
    void layerByLayerImportBesideDecodeStepsEqualsWholeImportAndOneEngine() throws Exception {
        final Path dir = DemoModel.ensure(models.resolve("demo"));
        final EngineOptions options = new EngineOptions().backend(Backend.CUDA).pageSize(PAGE).maxPages(256)
                .deviceSampling(false); // the logits are compared
        final int vocab = ModelConfig.load(dir).vocabSize();
        final int[] a = RandomModels.tokens(31, 1500);
        final int[] b = RandomModels.tokens(32, 90);
        final int[] reference = new int[IMPORT_STEPS];
        final float[][] referenceLogits = new float[IMPORT_STEPS][vocab];
        try (Engine one = Engine.load(dir, options)) {
            one.addSequence(a, SamplingParams.greedy());
            for (int n = 0; n < IMPORT_STEPS; n++) {
                reference[n] = one.step().get(0).token();
                one.copyLogits(0, referenceLogits[n]);
            }
        }
        final byte[][][] aKv;
        final int aFirst;
        try (Engine prefill = Engine.load(dir, options)) {
            aKv = new byte[prefill.config().numLayers()][2][];
            aFirst = prefill.prefill(List.of(a), List.of(SamplingParams.greedy()),
                    (p, layer, keys, keyOffset, values, valueOffset, tokens) -> {
                        final int bytes = tokens * prefill.config().kvDim() * 2;
                        aKv[layer][0] = new byte[bytes];
                        aKv[layer][1] = new byte[bytes];
                        keys.get(keyOffset, aKv[layer][0]);
                        values.get(valueOffset, aKv[layer][1]);
                    })[0];
        }
        assertEquals(reference[0], aFirst, "the first token, sampled where the prompt was prefilled");

        final BesideDecode layered = importBesideDecode(dir, options, b, aKv, aFirst, true);
        final BesideDecode whole = importBesideDecode(dir, options, b, aKv, aFirst, false);
        assertArrayEquals(whole.bTokens(), layered.bTokens(), "imports beside b's decode steps never touch b");
        assertArrayEquals(whole.aTokens(), layered.aTokens(), "layer-wise import fills the pages as a whole one");
        for (int n = 1; n < IMPORT_STEPS; n++) {
            assertTrue(cosine(whole.aLogits()[n], layered.aLogits()[n]) >= 0.999999, "step " + n);
        }
        int compared = 1;
        for (int n = 1; n < IMPORT_STEPS; n++) {
            final double cos = cosine(referenceLogits[n], layered.aLogits()[n]);
            assertTrue(cos >= MIN_COSINE, "step " + n + " against one engine: cosine " + cos);
            if (layered.aTokens()[n] != reference[n]) {
                assertTrue(margin(referenceLogits[n]) < CLEAR_MARGIN, "step " + n + ": token "
                        + layered.aTokens()[n] + " instead of " + reference[n] + " with a clear top-2 margin");
                break; // batched beside b, a near tie may go the other way; the continuations differ from here on
            }
            compared++;
        }
        System.out.println("layer-wise import: " + compared + " of " + IMPORT_STEPS
                + " greedy tokens equal to one CUDA engine's");
    }

    @Test
    void aReleasedPartialImportLeavesItsPagesToTheNextSequence() throws Exception {
        final Path dir = DemoModel.ensure(models.resolve("demo"));
        final EngineOptions options = new EngineOptions().backend(Backend.CUDA).pageSize(PAGE).maxPages(256);
        final int[] a = RandomModels.tokens(41, 1200);
        final int[] alone = new int[IMPORT_STEPS];
        try (Engine one = Engine.load(dir, options)) {
            one.addSequence(a, SamplingParams.greedy());
            for (int n = 0; n < IMPORT_STEPS; n++) {
                alone[n] = one.step().get(0).token();
            }
        }
        try (Engine decode = Engine.load(dir, options)) {
            final ImportedKv abandoned = decode.reserveImported(a.length);
            for (int i = 0; i < abandoned.bytes().capacity(); i++) {
                abandoned.bytes().put(i, (byte) 0x7f);
            }
            // milliseconds of queued copies of scribbled bytes: were release not to wait for them, they would land
            // on a's KV after a's prefill below wrote it
            for (int round = 0; round < 25; round++) {
                for (int layer = 0; layer < decode.config().numLayers(); layer++) {
                    decode.importLayer(abandoned, layer);
                }
            }
            decode.releaseImported(abandoned);
            assertEquals(decode.totalPages(), decode.freePages());
            // released pages are handed out first: a is prefilled on the very pages the copies were writing
            decode.addSequence(a, SamplingParams.greedy());
            final int[] after = new int[IMPORT_STEPS];
            for (int n = 0; n < IMPORT_STEPS; n++) {
                after[n] = decode.step().get(0).token();
            }
            assertArrayEquals(alone, after);
        }
    }

    /** Top-1 minus top-2 logit. */
    private static float margin(float[] logits) {
        float first = Float.NEGATIVE_INFINITY;
        float second = Float.NEGATIVE_INFINITY;
        for (float x : logits) {
            if (x > first) {
                second = first;
                first = x;
            } else if (x > second) {
                second = x;
            }
        }
        return first - second;
    }

    private static float[] slice(float[] rows, int row, int width) {
        final float[] out = new float[width];
        System.arraycopy(rows, row * width, out, 0, width);
        return out;
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Every row's cosine similarity must pass; top-1 agreement is counted over all rows. */
    private static final class Agreement {
        private int rows;
        private int same;

        void add(String what, float[] reference, float[] ours) {
            final double cos = cosine(reference, ours);
            assertTrue(cos >= MIN_COSINE, what + ": cosine " + cos);
            rows++;
            if (argmax(reference) == argmax(ours)) {
                same++;
            }
        }

        double top1() {
            return (double) same / rows;
        }
    }
}
