package io.splitserve.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.Backend;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
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
 * The fused decode kernels (RoPE + KV write, the SwiGLU GEMV, one-launch attention) decode exactly the tokens the
 * unfused sequence does: greedy decoding with graphs on, one sequence alone and a batch whose contexts need several
 * attention splits, at head dim 64 (qwen2) and 128 (qwen3).
 */
@GpuTest
class FusedDecodeGpuTest {
    private static final int STEPS = 40;

    @TempDir
    static Path models;

    @Test
    void fusedEqualsUnfusedAloneAndBatchedAtHeadDim64() throws Exception {
        final Path dir = RandomModels.write("qwen2", models.resolve("qwen2"));
        assertSameTokens(dir, new int[] {300});
        assertSameTokens(dir, new int[] {37, 700, 130, 5});
    }

    @Test
    void fusedEqualsUnfusedAloneAndBatchedAtHeadDim128() throws Exception {
        final Path dir = RandomModels.write("qwen3", models.resolve("qwen3"));
        assertSameTokens(dir, new int[] {513});
        assertSameTokens(dir, new int[] {900, 64, 1, 250, 33});
    }

    private static void assertSameTokens(Path dir, int[] promptLengths) throws Exception {
        final int[][] fused = run(dir, promptLengths, true);
        final int[][] unfused = run(dir, promptLengths, false);
        for (int s = 0; s < promptLengths.length; s++) {
            assertTrue(fused[s].length > 1, "sequence " + s + " decoded no steps");
            assertArrayEquals(unfused[s], fused[s], "sequence " + s + " of " + promptLengths.length);
        }
    }

    /** Every prompt added at once, then greedy steps; the tokens of each sequence in order. */
    private static int[][] run(Path dir, int[] promptLengths, boolean fusedDecode) throws Exception {
        final EngineOptions options = new EngineOptions().backend(Backend.CUDA).pageSize(16).maxPages(512)
                .cudaGraphs(true).fusedDecode(fusedDecode);
        try (Engine engine = Engine.load(dir, options)) {
            final long[] ids = new long[promptLengths.length];
            final Map<Long, List<Integer>> tokens = new HashMap<>();
            for (int s = 0; s < promptLengths.length; s++) {
                ids[s] = engine.addSequence(RandomModels.tokens(s + 7, promptLengths[s]), SamplingParams.greedy());
                tokens.put(ids[s], new ArrayList<>());
            }
            for (int n = 0; n < STEPS; n++) {
                for (StepOutput out : engine.step()) {
                    tokens.get(out.sequenceId()).add(out.token());
                }
            }
            final int[][] result = new int[promptLengths.length][];
            for (int s = 0; s < promptLengths.length; s++) {
                result[s] = tokens.get(ids[s]).stream().mapToInt(Integer::intValue).toArray();
            }
            return result;
        }
    }
}
