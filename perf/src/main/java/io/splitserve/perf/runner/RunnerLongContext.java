package io.splitserve.perf.runner;

import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.cuda.CudaModelRunner;
import io.splitserve.engine.forward.BatchStep;
import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import io.splitserve.engine.sampling.SamplingBatch;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.SamplingParams;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Long prompts on the CUDA runner, the way a serving node runs them: one random prompt of each given length prefilled
 * in chunks of the prefill token budget (each chunk attends to the pages the earlier ones wrote; only the last one
 * samples), timed from the first chunk's launch to the first token on the host (time to first token, no network),
 * then greedy decode steps at that context, graph-replayed as on a decode node: the median step, the same step's
 * graph replayed back to back, and the bytes a step must read (weights + the sequence's KV) for the bandwidth floor.
 * A short prompt runs first to warm up (cuBLAS heuristics, module loads, graph capture). Transformers' half of the
 * side-by-side is {@code perf/gpu/hf_bench.py}'s {@code long} setup.
 *
 * <p>Run as {@code splitserve bench runner-long MODEL_DIR OUT.csv [--contexts 32768,131072] [--chunk 8192]
 * [--steps 64]}. Rows go to a CSV ({@code bench,case,value,unit}) and standard output.
 */
public final class RunnerLongContext {
    private static final int PAGE = 16;

    private final CudaModelRunner runner;
    private final ModelConfig config;
    private final BlockManager blocks;
    private final int chunk;
    private final BatchStep step = new BatchStep();
    private final SamplingBatch sampling = new SamplingBatch();
    private final SplittableRandom random = new SplittableRandom(11);
    private final List<String> rows = new ArrayList<>();
    private final int[] next = new int[1];

    private RunnerLongContext(CudaModelRunner runner, ModelConfig config, int chunk) {
        this.runner = runner;
        this.config = config;
        this.chunk = chunk;
        this.blocks = new BlockManager(runner.pageCount(), PAGE);
    }

    /** Measures each length of {@code contexts} in turn; a length the model or the pool cannot hold is refused first. */
    public static void run(Path model, Path csv, int[] contexts, int chunk, int steps) throws Exception {
        final ModelConfig config = ModelConfig.load(model);
        for (int length : contexts) {
            if (length + steps > config.maxPositionEmbeddings()) {
                throw new IllegalArgumentException("a " + length + "-token prompt and " + steps + " new tokens exceed the"
                        + " model's " + config.maxPositionEmbeddings() + " positions");
            }
        }
        final EngineOptions options = new EngineOptions().pageSize(PAGE).prefillTokenBudget(chunk)
                .maxRunningSequences(8);
        try (CudaModelRunner runner = CudaModelRunner.open(model, config, options)) {
            final int longest = Arrays.stream(contexts).max().orElse(0) + steps;
            if ((long) runner.pageCount() * PAGE < longest) {
                throw new IllegalArgumentException("the KV pool holds " + (long) runner.pageCount() * PAGE
                        + " tokens, fewer than the " + longest + " the longest case needs");
            }
            final RunnerLongContext bench = new RunnerLongContext(runner, config, chunk);
            bench.record("setup", "runner", 0, runner.description().replace(',', ';'));
            bench.record("setup", "prefill_chunk_tokens", chunk, "tokens");
            bench.measure(Math.min(2 * chunk, config.maxPositionEmbeddings() - 8), 8, false);
            for (int length : contexts) {
                bench.measure(length, steps, true);
            }
            bench.record("memory", "device_used_after_runs", runner.deviceMemoryUsed() / 1048576.0, "MiB");
            bench.write(csv);
        }
    }

    private void measure(int length, int steps, boolean report) {
        final int[] tokens = new int[length + steps];
        for (int t = 0; t < length; t++) {
            tokens[t] = 4 + random.nextInt(Math.min(config.vocabSize(), 32_000) - 4);
        }
        final BlockTable table = new BlockTable();
        final int chunks = (length + chunk - 1) / chunk;
        final double[] chunkMs = new double[chunks];
        final long t0 = System.nanoTime();
        for (int c = 0; c < chunks; c++) {
            final long c0 = System.nanoTime();
            final int from = c * chunk;
            final int count = Math.min(chunk, length - from);
            final boolean last = c == chunks - 1;
            step.clear();
            blocks.ensureCapacity(table, from + count);
            step.addSequence(tokens, from, count, from, table, blocks, last ? BatchStep.Logits.LAST : BatchStep.Logits.NONE);
            runner.forwardSampled(step, greedy(last ? 1 : 0), next);
            chunkMs[c] = (System.nanoTime() - c0) / 1e6;
        }
        final double ttftMs = (System.nanoTime() - t0) / 1e6;
        tokens[length] = next[0];
        final double[] stepMs = new double[steps - 1];
        for (int d = 1; d < steps; d++) {
            final long s0 = System.nanoTime();
            final int position = length + d - 1;
            step.clear();
            blocks.ensureCapacity(table, position + 1);
            step.addSequence(tokens, position, 1, position, table, blocks, BatchStep.Logits.LAST);
            runner.forwardSampled(step, greedy(1), next);
            tokens[position + 1] = next[0];
            stepMs[d - 1] = (System.nanoTime() - s0) / 1e6;
        }
        final double replayMs = runner.graphReplayMillis(step, 20);
        blocks.release(table);
        if (!report) {
            return;
        }
        final String name = "ctx" + length;
        final long kvBytes = (long) (length + steps / 2) * config.numLayers() * 2L * config.kvDim() * 2;
        record("1_ttft", name + "_ms", ttftMs, "ms");
        record("1_ttft", name + "_prompt_tokens_per_s", length / (ttftMs / 1e3), "tok/s");
        record("1_ttft", name + "_first_chunk_ms", chunkMs[0], "ms");
        record("1_ttft", name + "_last_chunk_ms", chunkMs[chunks - 1], "ms");
        record("2_decode", name + "_step_ms_median", median(stepMs), "ms");
        record("2_decode", name + "_tokens_per_s", 1e3 / median(stepMs), "tok/s");
        record("2_decode", name + "_graph_replay_ms", replayMs, "ms");
        record("2_decode", name + "_bytes", runner.weightBytes() + kvBytes, "B");
        record("2_decode", name + "_kv_bytes", kvBytes, "B");
    }

    private SamplingBatch greedy(int count) {
        sampling.clear();
        for (int i = 0; i < count; i++) {
            sampling.add(SamplingParams.greedy(), 0);
        }
        return sampling;
    }

    private static double median(double[] values) {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private void record(String bench, String name, double value, String unit) {
        final String row = String.format(Locale.ROOT, "%s,%s,%.4f,%s", bench, name, value, unit);
        rows.add(row);
        System.out.println(row);
    }

    private void write(Path csv) throws IOException {
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(csv))) {
            out.println("bench,case,value,unit");
            rows.forEach(out::println);
        }
    }
}
