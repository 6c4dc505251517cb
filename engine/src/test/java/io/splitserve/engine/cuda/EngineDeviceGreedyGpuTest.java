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
 * Greedy steps picked on the GPU (one id per sequence comes back) choose exactly the tokens the host sampler picks
 * from the same step's logits, through prefill, mixed and graph-replayed decode steps, and a sampled sequence in
 * the batch sends the whole step back to the host path.
 */
@GpuTest
class EngineDeviceGreedyGpuTest {
    private static final int STEPS = 24;

    @TempDir
    static Path models;

    @Test
    void deviceArgmaxEqualsHostArgmaxAndKeepsNoLogits() throws Exception {
        final Path dir = RandomModels.write("qwen2", models.resolve("qwen2"));
        final int[][] onDevice = run(dir, true, false);
        final int[][] onHost = run(dir, false, false);
        for (int s = 0; s < onDevice.length; s++) {
            assertArrayEquals(onHost[s], onDevice[s], "sequence " + s);
        }
        try (Engine engine = Engine.load(dir, options(true))) {
            engine.addSequence(RandomModels.tokens(9, 20), SamplingParams.greedy());
            engine.step();
            assertThrows(IllegalStateException.class, () -> engine.copyLogits(0, new float[engine.config().vocabSize()]));
        }
    }

    @Test
    void aSampledSequenceInTheBatchTakesTheHostPathAndGreedyOnesStayTheSame() throws Exception {
        final Path dir = RandomModels.write("llama", models.resolve("llama"));
        final int[][] mixed = run(dir, true, true);
        final int[][] reference = run(dir, false, true);
        for (int s = 0; s < mixed.length; s++) {
            assertArrayEquals(reference[s], mixed[s], "sequence " + s);
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

    private static EngineOptions options(boolean deviceGreedy) {
        return new EngineOptions().backend(Backend.CUDA).pageSize(16).maxPages(512).deviceGreedy(deviceGreedy);
    }

    /** Three prompts added at different steps (so prefill, mixed and pure decode steps occur); tokens per sequence. */
    private static int[][] run(Path dir, boolean deviceGreedy, boolean oneSampled) throws Exception {
        try (Engine engine = Engine.load(dir, options(deviceGreedy))) {
            final Map<Long, List<Integer>> tokens = new HashMap<>();
            final long[] ids = new long[3];
            final int[] lengths = {37, 130, 65};
            for (int n = 0; n < STEPS; n++) {
                if (n == 0 || n == 5 || n == 11) {
                    final int s = n == 0 ? 0 : n == 5 ? 1 : 2;
                    final SamplingParams params = oneSampled && s == 1
                            ? new SamplingParams(0.8, 0, 1, 0, 42) : SamplingParams.greedy();
                    ids[s] = engine.addSequence(RandomModels.tokens(s + 1, lengths[s]), params);
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
