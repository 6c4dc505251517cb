package io.splitserve.perf.runner;

import io.splitserve.engine.cuda.CudaModelRunner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.forward.BatchStep;
import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import io.splitserve.model.ModelConfig;
import io.splitserve.engine.weights.SafetensorsFile;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Compares the CUDA runner with Hugging Face transformers on a golden directory written by
 * {@code perf/gpu/hf_models.py}: for each prompt, HF's greedy continuation and HF's teacher-forced logits at every
 * position that predicts a continuation token. The runner prefills all prompts in one ragged step and decodes the
 * continuations teacher-forced, all sequences batched (graph-replayed decode); then each sequence again alone.
 * Prints cosine similarity and top-1 agreement against HF's bf16 logits, against the fp32 reference (the same
 * weights upcast, which shows whether we are as close to exact as transformers is), and batched against unbatched;
 * says whether the bounds (cosine >= 0.999 on every row, top-1 >= 98%) are met, and exits 1 when a cosine bound
 * is missed. With a prefill chunk the prompts are prefilled in ragged steps of at most that many tokens each (a
 * serving node's chunked prefill: each chunk attends to the pages the earlier ones wrote), so prompts far longer than
 * one step's work memory are checked too; the KV pool is sized to hold every prompt and continuation at once.
 *
 * <p>Run as {@code splitserve bench runner-check MODEL_DIR GOLDEN_DIR [--prefill-chunk N]}.
 */
public final class RunnerCheck {
    private static final int PAGE = 16;

    private RunnerCheck() {
    }

    /** Runs the comparison and returns the exit status: 0 when every bound on cosine similarity is met, else 1. */
    public static int run(Path model, Path golden, int prefillChunk) throws Exception {
        final JsonNode expected = new ObjectMapper().readTree(golden.resolve("golden.json").toFile());
        final int n = expected.get("prompts").size();
        final int[][] prompts = new int[n][];
        final int[][] continuations = new int[n][];
        for (int i = 0; i < n; i++) {
            prompts[i] = ints(expected.get("prompts").get(i));
            continuations[i] = ints(expected.get("continuations").get(i));
        }
        final ModelConfig config = ModelConfig.load(model);
        final int vocab = config.vocabSize();
        int pages = n;
        for (int i = 0; i < n; i++) {
            pages += (prompts[i].length + continuations[i].length + PAGE - 1) / PAGE;
        }
        final long start = System.nanoTime();
        final float[][][] batched;
        final float[][][] alone = new float[n][][];
        try (CudaModelRunner runner = CudaModelRunner.open(model, config,
                new EngineOptions().pageSize(PAGE).maxPages(Math.max(4096, pages)).maxRunningSequences(64))) {
            System.out.printf(Locale.ROOT, "loaded in %.1f s: %s%s%n", (System.nanoTime() - start) / 1e9,
                    runner.description(), prefillChunk > 0 ? "; prefill in chunks of " + prefillChunk + " tokens" : "");
            batched = teacherForced(runner, prompts, continuations, vocab, prefillChunk);
            for (int i = 0; i < n; i++) {
                alone[i] = teacherForced(runner, new int[][] {prompts[i]}, new int[][] {continuations[i]}, vocab,
                        prefillChunk)[0];
            }
        }
        final Comparison vsHf = new Comparison();
        final Comparison vsReference = new Comparison();
        final Comparison batchedVsAlone = new Comparison();
        try (SafetensorsFile file = SafetensorsFile.open(golden.resolve("logits.safetensors"))) {
            for (int i = 0; i < n; i++) {
                final float[] hf = file.readFloats(file.tensors().get("logits." + i));
                final float[] reference = file.readFloats(file.tensors().get("reference." + i));
                for (int t = 0; t < continuations[i].length; t++) {
                    vsHf.add(slice(hf, t, vocab), batched[i][t]);
                    vsReference.add(slice(reference, t, vocab), batched[i][t]);
                    batchedVsAlone.add(alone[i][t], batched[i][t]);
                }
            }
        }
        final boolean cosineMet = vsHf.minCosine >= 0.999;
        final boolean top1Met = vsHf.top1() >= 0.98;
        System.out.printf(Locale.ROOT, "%s: ours vs transformers bf16 %s; ours vs fp32 reference %s; batched vs alone"
                        + " %s; cosine>=0.999 %s, top-1>=98%% %s%n", model.getFileName(), vsHf, vsReference,
                batchedVsAlone, cosineMet ? "met" : "MISSED", top1Met ? "met" : "MISSED");
        return cosineMet && batchedVsAlone.minCosine >= 0.999 ? 0 : 1;
    }

    /** Cosine similarity (minimum and mean over rows) and top-1 agreement of two sets of logit rows. */
    private static final class Comparison {
        double minCosine = 1;
        double sumCosine;
        int rows;
        int sameTop1;

        void add(float[] expected, float[] actual) {
            final double cos = cosine(expected, actual);
            minCosine = Math.min(minCosine, cos);
            sumCosine += cos;
            rows++;
            if (argmax(expected) == argmax(actual)) {
                sameTop1++;
            }
        }

        private static double cosine(float[] a, float[] b) {
            double dot = 0;
            double na = 0;
            double nb = 0;
            for (int i = 0; i < a.length; i++) {
                dot += (double) a[i] * b[i];
                na += (double) a[i] * a[i];
                nb += (double) b[i] * b[i];
            }
            return dot / Math.sqrt(na * nb);
        }

        private static int argmax(float[] v) {
            int best = 0;
            for (int i = 1; i < v.length; i++) {
                if (v[i] > v[best]) {
                    best = i;
                }
            }
            return best;
        }

        double top1() {
            return (double) sameTop1 / rows;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "(%d rows: cosine min %.6f mean %.6f, top-1 %.2f%%)", rows, minCosine,
                    sumCosine / rows, 100 * top1());
        }
    }

    /**
     * Logits predicting each continuation token: the prompt's last row from one ragged prefill of every prompt (or of
     * every prompt's next {@code prefillChunk} tokens, step after step, when it is positive), then one batched decode
     * step per continuation token (the token fed is the continuation's, not our pick).
     */
    static float[][][] teacherForced(CudaModelRunner runner, int[][] prompts, int[][] continuations, int vocab,
                                     int prefillChunk) {
        final int n = prompts.length;
        final BlockManager blocks = new BlockManager(runner.pageCount(), PAGE);
        final BlockTable[] tables = new BlockTable[n];
        final int[][] full = new int[n][];
        final float[][][] out = new float[n][][];
        final BatchStep step = new BatchStep();
        int steps = 0;
        for (int i = 0; i < n; i++) {
            tables[i] = new BlockTable();
            full[i] = new int[prompts[i].length + continuations[i].length];
            System.arraycopy(prompts[i], 0, full[i], 0, prompts[i].length);
            System.arraycopy(continuations[i], 0, full[i], prompts[i].length, continuations[i].length);
            out[i] = new float[continuations[i].length][];
            steps = Math.max(steps, continuations[i].length);
        }
        final float[] logits = new float[n * vocab];
        final int[] active = new int[n];
        final int[] done = new int[n];
        for (boolean more = true; more; ) {
            step.clear();
            int rows = 0;
            for (int i = 0; i < n; i++) {
                final int left = prompts[i].length - done[i];
                if (left == 0) {
                    continue;
                }
                final int count = prefillChunk > 0 ? Math.min(prefillChunk, left) : left;
                final boolean last = count == left;
                blocks.ensureCapacity(tables[i], done[i] + count);
                step.addSequence(full[i], done[i], count, done[i], tables[i], blocks,
                        last ? BatchStep.Logits.LAST : BatchStep.Logits.NONE);
                done[i] += count;
                if (last) {
                    active[rows++] = i;
                }
            }
            more = false;
            if (step.numTokens() > 0) {
                runner.forward(step, logits);
                for (int r = 0; r < rows; r++) {
                    out[active[r]][0] = slice(logits, r, vocab);
                }
                for (int i = 0; i < n; i++) {
                    more |= done[i] < prompts[i].length;
                }
            }
        }
        for (int d = 1; d < steps; d++) {
            step.clear();
            int rows = 0;
            for (int i = 0; i < n; i++) {
                if (d < continuations[i].length) {
                    final int position = prompts[i].length + d - 1;
                    blocks.ensureCapacity(tables[i], position + 1);
                    step.addSequence(full[i], position, 1, position, tables[i], blocks, BatchStep.Logits.LAST);
                    active[rows++] = i;
                }
            }
            runner.forward(step, logits);
            for (int r = 0; r < rows; r++) {
                out[active[r]][d] = slice(logits, r, vocab);
            }
        }
        for (BlockTable table : tables) {
            blocks.release(table);
        }
        return out;
    }

    private static float[] slice(float[] rows, int row, int width) {
        final float[] out = new float[width];
        System.arraycopy(rows, row * width, out, 0, width);
        return out;
    }

    private static int[] ints(JsonNode row) {
        final int[] out = new int[row.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = row.get(i).asInt();
        }
        return out;
    }
}
