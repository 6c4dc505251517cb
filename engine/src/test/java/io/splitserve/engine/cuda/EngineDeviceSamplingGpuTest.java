package io.splitserve.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.splitserve.engine.Backend;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.ImportedKv;
import io.splitserve.engine.StepOutput;
import io.splitserve.engine.sampling.Sampler;
import io.splitserve.engine.sampling.TokenLogprobs;
import io.splitserve.kernels.cuda.GpuTest;
import io.splitserve.model.LogitBias;
import io.splitserve.model.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Steps sampled on the GPU (one id per sequence comes back) choose exactly the tokens the host sampler picks from
 * the same step's CUDA logits (the engine run again with device sampling off), greedy and sampled sequences alike,
 * alone and batched, through prefill, mixed and graph-replayed decode steps; such a step keeps no logits. With
 * penalties, logit bias and logprobs (decode steps then replay the graph variant without the sampling kernel and
 * process, sample and compute logprobs after it) the tokens are still the host sampler's, the logprobs the host's
 * within {@link Sampler#LOGPROB_TOLERANCE}, and a penalised greedy generation equals the CPU engine's.
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

    private static final LogitBias BIAS = LogitBias.of(Map.of(7, 4.0, 100, -100.0, 311, 2.5));
    private static final SamplingParams[] PENALISED = {
            SamplingParams.greedy().withPenalties(1.6, 0.8, 0.5).withLogitBias(BIAS),
            new SamplingParams(0.7, 0, 0.9, 0, 42).withPenalties(1.2, 0.4, -0.3).withLogprobs(5),
            SamplingParams.greedy().withLogprobs(20)};

    @TempDir
    static Path models;

    @Test
    void penaltiesBiasAndLogprobsOnTheDevicePickWhatTheHostSamplerPicks() throws Exception {
        final Path dir = RandomModels.write("qwen2", models.resolve("qwen2-penalised"));
        assertDeviceEqualsHost(dir, PENALISED);
        final List<List<TokenLogprobs>> onDevice = logprobs(dir, true);
        final List<List<TokenLogprobs>> onHost = logprobs(dir, false);
        for (int s = 0; s < 3; s++) {
            assertEquals(onHost.get(s).size(), onDevice.get(s).size());
            for (int n = 0; n < onHost.get(s).size(); n++) {
                final TokenLogprobs host = onHost.get(s).get(n);
                final TokenLogprobs device = onDevice.get(s).get(n);
                final String where = "sequence " + s + " token " + n;
                if (host == null) {
                    assertEquals(null, device, where);
                    continue;
                }
                assertEquals(host.token(), device.token(), where);
                assertEquals(host.logprob(), device.logprob(), Sampler.LOGPROB_TOLERANCE, where);
                assertEquals(host.count(), device.count(), where);
                for (int i = 0; i < host.count(); i++) {
                    assertEquals(host.topToken(i), device.topToken(i), where + " rank " + i);
                    assertEquals(host.topLogprob(i), device.topLogprob(i), Sampler.LOGPROB_TOLERANCE, where);
                }
            }
        }
    }

    /**
     * The GPU engine and the CPU engine generate the same penalised greedy tokens (the first 8 of each sequence, the
     * agreement bar of the GPU serving tests: bf16 and fp32 logits may part at a near-tie later), and the penalties
     * change the generation.
     */
    @Test
    void aPenalisedGreedyGenerationOnTheGpuEqualsTheCpuEngines() throws Exception {
        final Path dir = RandomModels.write("llama", models.resolve("llama-penalised"));
        final SamplingParams[] penalised = {PENALISED[0], PENALISED[0].withPenalties(2.0, 0, 0), PENALISED[2]};
        final int[][] gpu = run(dir, true, penalised);
        final int[][] cpu;
        try (Engine engine = Engine.load(dir, new EngineOptions().backend(Backend.CPU).pageSize(16))) {
            cpu = generate(engine, penalised);
        }
        for (int s = 0; s < 3; s++) {
            assertArrayEquals(Arrays.copyOf(cpu[s], 8), Arrays.copyOf(gpu[s], 8),
                    "sequence " + s + " under " + penalised[s]);
        }
        assertFalse(Arrays.equals(gpu[0], run(dir, true, ALL_GREEDY)[0]), "the penalties changed nothing");
    }

    /** Per sequence of {@link #PENALISED}, a copy of each token's logprobs (null where it asked for none). */
    private static List<List<TokenLogprobs>> logprobs(Path dir, boolean deviceSampling) throws Exception {
        try (Engine engine = Engine.load(dir, options(deviceSampling))) {
            final Map<Long, List<TokenLogprobs>> bySequence = new HashMap<>();
            final long[] ids = new long[3];
            for (int n = 0; n < STEPS; n++) {
                if (n == 0 || n == 5 || n == 11) {
                    final int s = n == 0 ? 0 : n == 5 ? 1 : 2;
                    ids[s] = engine.addSequence(RandomModels.tokens(s + 7, 40 + 30 * s), PENALISED[s]);
                    bySequence.put(ids[s], new ArrayList<>());
                }
                for (StepOutput out : engine.step()) {
                    bySequence.get(out.sequenceId()).add(out.logprobs() == null ? null : out.logprobs().copy());
                }
            }
            final List<List<TokenLogprobs>> result = new ArrayList<>();
            for (long id : ids) {
                result.add(bySequence.get(id));
            }
            return result;
        }
    }

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

    /** {@link #generate} on a CUDA engine. */
    private static int[][] run(Path dir, boolean deviceSampling, SamplingParams[] params) throws Exception {
        try (Engine engine = Engine.load(dir, options(deviceSampling))) {
            return generate(engine, params);
        }
    }

    /**
     * Three prompts under {@code params}, added at different steps (so the first decodes alone for a while, and
     * prefill, mixed and graph-replayed decode steps all occur); tokens per sequence.
     */
    private static int[][] generate(Engine engine, SamplingParams[] params) {
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
