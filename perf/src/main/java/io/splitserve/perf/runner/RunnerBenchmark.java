package io.splitserve.perf.runner;

import io.splitserve.engine.cuda.CudaModelRunner;

import io.splitserve.engine.EngineOptions;
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
 * The runner's half of the side-by-side benchmarks (transformers' half is {@code perf/gpu/hf_bench.py}), greedy
 * with the argmax on the GPU (and one sampled case, sampled on the GPU too) and end-of-sequence ignored, each case run once to warm up (graph capture, cuBLAS
 * heuristics) and then timed on the host clock around whole steps:
 * <ol>
 *   <li>prefill: 40 prompts x 600 tokens and one new token, in one ragged step: prompt tokens/s;</li>
 *   <li>decode: 40 x 600-token prompts, 600 new tokens each: generated tokens/s (prefill included, as in HF
 *       generate) and decode-only tokens/s; then the same job sampled (temperature 0.7, top-p 0.9, a seed per
 *       sequence) and its decode-only throughput as a percentage of the greedy one;</li>
 *   <li>single stream: 1 x 128-token prompt, 256 new tokens: tokens/s and ms per decode step;</li>
 *   <li>decode step time at batch 1, 16, 64, 128, 256 with 1024 tokens of context (median of 32 steps), the same
 *       step's graph replayed back to back (GPU time without the host's per-step work), and the bytes a step must
 *       read (weights + KV) for the bandwidth floor.</li>
 * </ol>
 * Rows go to a CSV ({@code bench,case,value,unit}) and standard output.
 *
 * <p>Run as {@code splitserve bench runner MODEL_DIR OUT.csv [--eager]}.
 */
public final class RunnerBenchmark {
    private static final int PAGE = 16;

    private final CudaModelRunner runner;
    private final ModelConfig config;
    private final boolean graphs;
    private final BlockManager blocks;
    private final BatchStep step = new BatchStep();
    private final List<String> rows = new ArrayList<>();
    private final SplittableRandom random = new SplittableRandom(7);
    private final SamplingBatch sampling = new SamplingBatch();

    private RunnerBenchmark(CudaModelRunner runner, ModelConfig config, boolean graphs) {
        this.runner = runner;
        this.config = config;
        this.graphs = graphs;
        this.blocks = new BlockManager(runner.pageCount(), PAGE);
    }

    /** Runs every case on GPU 0 and writes the rows to {@code csv}; {@code graphs} false launches every kernel eagerly. */
    public static void run(Path model, Path csv, boolean graphs) throws Exception {
        final ModelConfig config = ModelConfig.load(model);
        final EngineOptions options = new EngineOptions().pageSize(PAGE).prefillTokenBudget(24_000)
                .maxRunningSequences(256).cudaGraphs(graphs);
        try (CudaModelRunner runner = CudaModelRunner.open(model, config, options)) {
            final RunnerBenchmark bench = new RunnerBenchmark(runner, config, graphs);
            bench.record("setup", "runner", 0, runner.description().replace(',', ';'));
            bench.prefill();
            final double greedy = bench.decode(40, 600, 600, "decode_40x600x600", SamplingParams.greedy());
            final double sampled = bench.decode(40, 600, 600, "decode_40x600x600_sampled_t0.7_p0.9",
                    new SamplingParams(0.7, 0, 0.9, 0, 0));
            bench.record("2_decode", "decode_40x600x600_sampled_over_greedy_decode_only", 100 * sampled / greedy, "%");
            bench.decode(1, 128, 256, "single_128x256", SamplingParams.greedy());
            for (int batch : new int[] {1, 16, 64, 128, 256}) {
                bench.stepTime(batch, 1024);
            }
            bench.record("memory", "device_used_after_runs", runner.deviceMemoryUsed() / 1048576.0, "MiB");
            bench.write(csv);
        }
    }

    private void prefill() {
        final int[][] prompts = prompts(40, 600);
        final int[] first = new int[40];
        final double[] times = new double[4];
        for (int round = 0; round < times.length; round++) {
            final BlockTable[] tables = tables(40);
            final long t0 = System.nanoTime();
            step.clear();
            for (int i = 0; i < 40; i++) {
                blocks.ensureCapacity(tables[i], 600);
                step.addSequence(prompts[i], 0, 600, 0, tables[i], blocks, BatchStep.Logits.LAST);
            }
            runner.forwardSampled(step, greedy(40), first);
            times[round] = (System.nanoTime() - t0) / 1e9;
            release(tables);
        }
        final double median = median(Arrays.copyOfRange(times, 1, times.length));
        record("1_prefill", "40x600_prompt_tokens_per_s", 24_000 / median, "tok/s");
        record("1_prefill", "40x600_step_ms_median", median * 1e3, "ms");
    }

    /**
     * Generation of {@code newTokens} for {@code batch} random prompts of {@code promptLen} under {@code params}
     * (sequence {@code i} seeded {@code i}), run twice; returns the decode-only tokens/s.
     */
    private double decode(int batch, int promptLen, int newTokens, String name, SamplingParams params) {
        final SamplingParams[] seeded = new SamplingParams[batch];
        for (int i = 0; i < batch; i++) {
            seeded[i] = new SamplingParams(params.temperature(), params.topK(), params.topP(), params.minP(), i);
        }
        double total = 0;
        double decodeOnly = 0;
        final double[] stepMs = new double[newTokens - 1];
        for (int round = 0; round < 2; round++) {
            final int[][] sequences = prompts(batch, promptLen + newTokens);
            final BlockTable[] tables = tables(batch);
            final int[] next = new int[batch];
            final long t0 = System.nanoTime();
            step.clear();
            for (int i = 0; i < batch; i++) {
                blocks.ensureCapacity(tables[i], promptLen);
                step.addSequence(sequences[i], 0, promptLen, 0, tables[i], blocks, BatchStep.Logits.LAST);
            }
            runner.forwardSampled(step, sampling(seeded, 0), next);
            final long t1 = System.nanoTime();
            for (int d = 1; d < newTokens; d++) {
                final long s0 = System.nanoTime();
                step.clear();
                final int position = promptLen + d - 1;
                for (int i = 0; i < batch; i++) {
                    sequences[i][position] = next[i];
                    blocks.ensureCapacity(tables[i], position + 1);
                    step.addSequence(sequences[i], position, 1, position, tables[i], blocks, BatchStep.Logits.LAST);
                }
                runner.forwardSampled(step, sampling(seeded, d), next);
                stepMs[d - 1] = (System.nanoTime() - s0) / 1e6;
            }
            final long t2 = System.nanoTime();
            release(tables);
            total = (t2 - t0) / 1e9;
            decodeOnly = (t2 - t1) / 1e9;
        }
        final String bench = batch == 1 ? "3_single_stream" : "2_decode";
        record(bench, name + "_generated_tokens_per_s", (double) batch * newTokens / total, "tok/s");
        record(bench, name + "_decode_only_tokens_per_s", (double) batch * (newTokens - 1) / decodeOnly, "tok/s");
        record(bench, name + "_step_ms_median", median(stepMs), "ms");
        record(bench, name + "_total_s", total, "s");
        return (double) batch * (newTokens - 1) / decodeOnly;
    }

    /** Median decode step time at {@code batch} sequences of {@code context} tokens, beside the bytes it reads. */
    private void stepTime(int batch, int context) {
        final int[][] sequences = prompts(batch, context + 64);
        final BlockTable[] tables = tables(batch);
        final int[] next = new int[batch];
        for (int from = 0; from < batch; from += 16) {
            step.clear();
            for (int i = from; i < Math.min(batch, from + 16); i++) {
                blocks.ensureCapacity(tables[i], context);
                step.addSequence(sequences[i], 0, context, 0, tables[i], blocks, BatchStep.Logits.LAST);
            }
            runner.forwardSampled(step, greedy(step.numLogitRows()), next);
        }
        final int warm = 4;
        final double[] ms = new double[32];
        for (int d = 0; d < warm + ms.length; d++) {
            final long s0 = System.nanoTime();
            step.clear();
            final int position = context + d;
            for (int i = 0; i < batch; i++) {
                blocks.ensureCapacity(tables[i], position + 1);
                step.addSequence(sequences[i], position, 1, position, tables[i], blocks, BatchStep.Logits.LAST);
            }
            runner.forwardSampled(step, greedy(batch), next);
            if (d >= warm) {
                ms[d - warm] = (System.nanoTime() - s0) / 1e6;
            }
        }
        final double gpuMs = graphs ? runner.graphReplayMillis(step, 50) : 0;
        release(tables);
        final long kvBytes = (long) batch * (context + warm + ms.length / 2) * config.numLayers() * 2L
                * config.kvDim() * 2;
        record("4_step_time", "batch" + batch + "_ctx" + context + "_ms", median(ms), "ms");
        if (graphs) {
            record("4_step_time", "batch" + batch + "_ctx" + context + "_graph_replay_ms", gpuMs, "ms");
        }
        record("4_step_time", "batch" + batch + "_ctx" + context + "_bytes", runner.weightBytes() + kvBytes, "B");
    }

    /** The sampling of a step of {@code rows} greedy rows. */
    private SamplingBatch greedy(int rows) {
        sampling.clear();
        for (int i = 0; i < rows; i++) {
            sampling.add(SamplingParams.greedy(), 0);
        }
        return sampling;
    }

    /** The sampling of a step in which sequence {@code i} draws under {@code params[i]}, {@code sampledBefore} on. */
    private SamplingBatch sampling(SamplingParams[] params, int sampledBefore) {
        sampling.clear();
        for (SamplingParams p : params) {
            sampling.add(p, sampledBefore);
        }
        return sampling;
    }

    private int[][] prompts(int count, int length) {
        final int[][] p = new int[count][length];
        for (int[] row : p) {
            for (int t = 0; t < length; t++) {
                row[t] = 4 + random.nextInt(Math.min(config.vocabSize(), 32_000) - 4);
            }
        }
        return p;
    }

    private static BlockTable[] tables(int count) {
        final BlockTable[] t = new BlockTable[count];
        for (int i = 0; i < count; i++) {
            t[i] = new BlockTable();
        }
        return t;
    }

    private void release(BlockTable[] tables) {
        for (BlockTable t : tables) {
            blocks.release(t);
        }
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
