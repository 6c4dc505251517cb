package io.splitserve.perf.runner;

import io.splitserve.engine.cuda.CudaModelRunner;

import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.forward.BatchStep;
import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import io.splitserve.engine.sampling.SamplingBatch;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.SamplingParams;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * A small, fixed workload for a kernel profiler (perf/gpu/ncu_step.py reads Nsight Compute's per-kernel times):
 * {@code batch} random prompts of {@code context} tokens prefilled, then {@code steps} decode steps launched
 * eagerly (no graphs), so every kernel of a decode step appears as its own launch. The last step is the one to read.
 * Tokens are picked greedily, or with {@code sampled} at temperature 0.7 and top-p 0.9 (the benchmark's sampled case).
 *
 * <p>Run as {@code splitserve bench runner-profile MODEL_DIR [--batch B] [--context C] [--steps S] [--sampled]}.
 */
public final class RunnerProfile {
    private static final int PAGE = 16;

    private RunnerProfile() {
    }

    public static void run(Path model, int batch, int context, int steps, boolean sampled) throws Exception {
        final ModelConfig config = ModelConfig.load(model);
        final EngineOptions options = new EngineOptions().pageSize(PAGE).maxPages(batch * (context + steps) / PAGE + batch)
                .prefillTokenBudget(batch * context).cudaGraphs(false);
        try (CudaModelRunner runner = CudaModelRunner.open(model, config, options)) {
            final BlockManager blocks = new BlockManager(runner.pageCount(), PAGE);
            final SplittableRandom random = new SplittableRandom(3);
            final int[][] sequences = new int[batch][context + steps];
            final BlockTable[] tables = new BlockTable[batch];
            final BatchStep step = new BatchStep();
            final int[] next = new int[batch];
            final SamplingBatch picks = new SamplingBatch();
            for (int i = 0; i < batch; i++) {
                picks.add(sampled ? new SamplingParams(0.7, 0, 0.9, 0, i) : SamplingParams.greedy(), 0);
            }
            for (int i = 0; i < batch; i++) {
                for (int t = 0; t < context; t++) {
                    sequences[i][t] = 4 + random.nextInt(32_000);
                }
                tables[i] = new BlockTable();
                blocks.ensureCapacity(tables[i], context);
                step.addSequence(sequences[i], 0, context, 0, tables[i], blocks, BatchStep.Logits.LAST);
            }
            runner.forwardSampled(step, picks, next);
            for (int d = 0; d < steps; d++) {
                step.clear();
                final int position = context + d;
                for (int i = 0; i < batch; i++) {
                    sequences[i][position] = next[i];
                    blocks.ensureCapacity(tables[i], position + 1);
                    step.addSequence(sequences[i], position, 1, position, tables[i], blocks, BatchStep.Logits.LAST);
                }
                runner.forwardSampled(step, picks, next);
            }
            System.out.println("profiled " + steps + " eager decode steps at batch " + batch + ", context " + context);
        }
    }
}
