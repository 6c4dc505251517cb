package io.splitserve.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.splitserve.engine.Backend;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.ImportedKv;
import io.splitserve.engine.StepOutput;
import io.splitserve.kernels.cuda.GpuTest;
import io.splitserve.model.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Steps sampled on the GPU (one id per sequence comes back) choose exactly the tokens the host sampler picks from
 * the same step's CUDA logits (the engine run again with device sampling off), greedy and sampled sequences alike,
 * alone and batched, through prefill, mixed and graph-replayed decode steps; such a step keeps no logits.
 */
@GpuTest
class EngineDeviceSamplingGpuTest {
    private static final int STEPS = 24;
    private static final SamplingParams[] ALL_GREEDY = {SamplingParams.greedy(), SamplingParams.greedy(),
            SamplingParams.greedy()};
    private static final SamplingParams[] MIXED = {SamplingParams.greedy(), new SamplingParams(0.7, 0, 0.9, 0, 42),
            new SamplingParams(1, 50, 1, 0.05, 43)};
    private static final SamplingParams[] ALL_SAMPLED = {new SamplingParams(0.7, 0, 0.9, 0, 1),
            new SamplingParams(1.2, 0, 1, 0, 2), new SamplingParams(0.5, 20, 0.8, 0.1, 3)};

    @TempDir
    static Path models;

    @Test
    void deviceArgmaxEqualsHostArgmaxAndKeepsNoLogits() throws Exception {
        final Path dir = RandomModels.write("qwen2", models.resolve("qwen2"));
        assertDeviceEqualsHost(dir, ALL_GREEDY);
        try (Engine engine = Engine.load(dir, options(true))) {
            engine.addSequence(RandomModels.tokens(9, 20), new SamplingParams(0.7, 0, 0.9, 0, 5));
            engine.step();
            assertThrows(IllegalStateException.class, () -> engine.copyLogits(0, new float[engine.config().vocabSize()]));
        }
    }

    @Test
    void greedyAndSampledSequencesInOneBatchPickWhatTheHostSamplerPicks() throws Exception {
        final Path dir = RandomModels.write("llama", models.resolve("llama"));
        assertDeviceEqualsHost(dir, MIXED);
        assertDeviceEqualsHost(dir, ALL_SAMPLED);
    }

    private static void assertDeviceEqualsHost(Path dir, SamplingParams[] params) throws Exception {
        final int[][] onDevice = run(dir, true, params);
        final int[][] onHost = run(dir, false, params);
        for (int s = 0; s < onDevice.length; s++) {
            assertArrayEquals(onHost[s], onDevice[s], "sequence " + s + " under " + params[s]);
        }
    }

    /**
     * A task run while the GPU computes each step (reserving an import, filling it, importing its layers on the side
     * stream, releasing it) leaves the step's tokens exactly as a step without it.
     */
    @Test
    void importWorkDoneWhileTheGpuComputesLeavesTheStepsTokensAlone() throws Exception {
        final Path dir = RandomModels.write("qwen2", models.resolve("qwen2-hook"));
        final int[][] plain = stepTwo(dir, false);
        final int[][] withTask = stepTwo(dir, true);
        for (int s = 0; s < plain.length; s++) {
            assertArrayEquals(plain[s], withTask[s], "sequence " + s);
        }
    }

    private static int[][] stepTwo(Path dir, boolean task) throws Exception {
        try (Engine engine = Engine.load(dir, options(true))) {
            final long a = engine.addSequence(RandomModels.tokens(3, 90), SamplingParams.greedy());
            engine.addSequence(RandomModels.tokens(4, 33), SamplingParams.greedy());
            final int[][] tokens = new int[2][STEPS];
            final ImportedKv[] open = new ImportedKv[1];
            final Runnable work = () -> {
                if (open[0] != null) {
                    engine.releaseImported(open[0]);
                }
                open[0] = engine.reserveImported(300);
                for (int i = 0; i < open[0].bytes().capacity(); i += 4096) {
                    open[0].bytes().put(i, (byte) i);
                }
                for (int layer = 0; layer < engine.config().numLayers(); layer++) {
                    engine.importLayer(open[0], layer);
                }
            };
            for (int n = 0; n < STEPS; n++) {
                for (StepOutput out : engine.step(task ? work : null)) {
                    tokens[out.sequenceId() == a ? 0 : 1][n] = out.token();
                }
            }
            if (open[0] != null) {
                engine.releaseImported(open[0]);
            }
            return tokens;
        }
    }

    private static EngineOptions options(boolean deviceSampling) {
        return new EngineOptions().backend(Backend.CUDA).pageSize(16).maxPages(512).deviceSampling(deviceSampling);
    }

    /**
     * Three prompts under {@code params}, added at different steps (so the first decodes alone for a while, and
     * prefill, mixed and graph-replayed decode steps all occur); tokens per sequence.
     */
    private static int[][] run(Path dir, boolean deviceSampling, SamplingParams[] params) throws Exception {
        try (Engine engine = Engine.load(dir, options(deviceSampling))) {
            final Map<Long, List<Integer>> tokens = new HashMap<>();
            final long[] ids = new long[3];
            final int[] lengths = {37, 130, 65};
            for (int n = 0; n < STEPS; n++) {
                if (n == 0 || n == 5 || n == 11) {
                    final int s = n == 0 ? 0 : n == 5 ? 1 : 2;
                    ids[s] = engine.addSequence(RandomModels.tokens(s + 1, lengths[s]), params[s]);
                    tokens.put(ids[s], new ArrayList<>());
                }
                for (StepOutput out : engine.step()) {
                    tokens.get(out.sequenceId()).add(out.token());
                }
            }
            final int[][] result = new int[3][];
            for (int s = 0; s < 3; s++) {
                result[s] = tokens.get(ids[s]).stream().mapToInt(Integer::intValue).toArray();
            }
            return result;
        }
    }
}
