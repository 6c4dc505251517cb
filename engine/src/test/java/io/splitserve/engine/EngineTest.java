package io.splitserve.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.kv.OutOfPagesException;
import io.splitserve.model.ModelLoadException;
import io.splitserve.model.SamplingParams;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Engine API's contract: input checks, scheduling under budgets, page accounting and reproducible sampling. */
class EngineTest {
    private static final int[] PROMPT_A = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
    private static final int[] PROMPT_B = {100, 200, 300};

    @TempDir
    Path dir;

    private static Engine llama(EngineOptions options) throws Exception {
        return Engine.load(GoldenFixture.resource("/fixtures/llama"), options);
    }

    @Test
    void exposesConfigAndStopTokens() throws Exception {
        try (Engine engine = llama(new EngineOptions())) {
            assertEquals(400, engine.config().vocabSize());
            assertArrayEquals(new int[] {2}, engine.stopTokenIds());
            assertArrayEquals(new int[] {2}, engine.generationConfig().eosTokenIds());
            assertTrue(engine.modelDir().endsWith("llama"));
            assertEquals(engine.totalPages(), engine.freePages());
        }
    }

    @Test
    void badPromptsAreRejectedWithTheReason() throws Exception {
        try (Engine engine = llama(new EngineOptions().pageSize(4).maxPages(10))) {
            final SamplingParams greedy = SamplingParams.greedy();
            assertEquals("prompt is empty", assertThrows(IllegalArgumentException.class,
                    () -> engine.addSequence(new int[0], greedy)).getMessage());
            assertEquals("prompt token id 400 is outside the vocabulary of 400", assertThrows(
                    IllegalArgumentException.class, () -> engine.addSequence(new int[] {1, 400}, greedy)).getMessage());
            assertEquals("prompt of 41 tokens is too long: the KV cache holds 40 tokens", assertThrows(
                    IllegalArgumentException.class, () -> engine.addSequence(new int[41], greedy)).getMessage());
            assertEquals("prompt of 512 tokens is too long: the model's context is 512 tokens", assertThrows(
                    IllegalArgumentException.class, () -> engine.addSequence(new int[512], greedy)).getMessage());
            assertFalse(engine.hasWork());
        }
    }

    @Test
    void releaseFreesEveryPageOfRunningAndWaitingSequences() throws Exception {
        try (Engine engine = llama(new EngineOptions().pageSize(2).maxPages(64))) {
            final long a = engine.addSequence(PROMPT_A, SamplingParams.greedy());
            final long b = engine.addSequence(PROMPT_B, SamplingParams.greedy());
            assertTrue(engine.hasWork());
            for (int i = 0; i < 4; i++) {
                assertEquals(2, engine.step().size());
            }
            // 20 + 3 and 3 + 3 tokens computed, the 4th sampled token of each needs a slot next step
            assertEquals(64 - 12 - 3, engine.freePages());
            final long c = engine.addSequence(PROMPT_B, SamplingParams.greedy()); // waiting, holds no pages yet
            engine.release(a);
            engine.release(b);
            engine.release(c);
            assertEquals(64, engine.freePages());
            assertFalse(engine.hasWork());
            assertEquals(List.of(), engine.step());
            assertEquals("unknown sequence " + a,
                    assertThrows(IllegalArgumentException.class, () -> engine.release(a)).getMessage());
        }
    }

    @Test
    void prefillBudgetSpreadsPromptsOverStepsButNeverStarvesALongOne() throws Exception {
        try (Engine engine = llama(new EngineOptions().prefillTokenBudget(10))) {
            final long a = engine.addSequence(PROMPT_A, SamplingParams.greedy()); // 20 tokens: over budget, runs alone
            final long b = engine.addSequence(PROMPT_B, SamplingParams.greedy());
            final long c = engine.addSequence(PROMPT_B, SamplingParams.greedy());
            final List<StepOutput> first = engine.step();
            assertEquals(1, first.size());
            assertEquals(a, first.get(0).sequenceId());
            final List<StepOutput> second = engine.step(); // a decodes, b and c (6 tokens) prefill
            assertEquals(List.of(a, b, c), second.stream().map(StepOutput::sequenceId).toList());
            assertEquals(second.get(1).token(), second.get(2).token(), "same prompt, same greedy token");
        }
    }

    @Test
    void runningLimitKeepsPromptsWaiting() throws Exception {
        try (Engine engine = llama(new EngineOptions().maxRunningSequences(1))) {
            final long a = engine.addSequence(PROMPT_B, SamplingParams.greedy());
            final long b = engine.addSequence(PROMPT_B, SamplingParams.greedy());
            assertEquals(a, engine.step().get(0).sequenceId());
            assertEquals(1, engine.step().size());
            engine.release(a);
            assertEquals(b, engine.step().get(0).sequenceId());
        }
    }

    @Test
    void outOfPagesWaitsForReleaseOrFailsClearly() throws Exception {
        try (Engine engine = llama(new EngineOptions().pageSize(4).maxPages(6))) {
            final long a = engine.addSequence(PROMPT_A, SamplingParams.greedy()); // 5 pages
            final long b = engine.addSequence(PROMPT_A, SamplingParams.greedy()); // cannot fit beside a
            assertEquals(1, engine.step().size());
            assertEquals(1, engine.step().size(), "b waits while a runs");
            for (int i = 0; i < 3; i++) {
                engine.step(); // a grows to 24 tokens: all 6 pages
            }
            final OutOfPagesException e = assertThrows(OutOfPagesException.class, engine::step);
            assertEquals("KV cache out of pages: need 1, 0 free of 6", e.getMessage());
            engine.release(a);
            final List<StepOutput> out = engine.step();
            assertEquals(b, out.get(0).sequenceId(), "b runs once a's pages are back");
        }
    }

    @Test
    void seededSamplingIsReproducibleAloneAndInABatch() throws Exception {
        final SamplingParams params = new SamplingParams(0.9, 40, 0.95, 0.01, 1234);
        final int[] alone = new int[12];
        try (Engine engine = llama(new EngineOptions())) {
            engine.addSequence(PROMPT_A, params);
            for (int i = 0; i < alone.length; i++) {
                alone[i] = engine.step().get(0).token();
            }
        }
        try (Engine engine = llama(new EngineOptions().pageSize(1))) {
            engine.addSequence(PROMPT_B, new SamplingParams(1.0, 0, 1, 0, 99));
            engine.step();
            final long id = engine.addSequence(PROMPT_A, params);
            final int[] batched = new int[alone.length];
            for (int i = 0; i < batched.length; i++) {
                for (StepOutput out : engine.step()) {
                    if (out.sequenceId() == id) {
                        batched[i] = out.token();
                    }
                }
            }
            assertArrayEquals(alone, batched);
        }
    }

    @Test
    void loadErrorsAreOneLine() throws Exception {
        final ModelLoadException missing = assertThrows(ModelLoadException.class,
                () -> Engine.load(dir.resolve("absent"), new EngineOptions()));
        assertEquals(dir.resolve("absent") + ": model directory not found", missing.getMessage());

        final Path source = GoldenFixture.resource("/fixtures/qwen2");
        Files.copy(source.resolve("config.json"), dir.resolve("config.json"));
        Files.write(dir.resolve("model.safetensors"), Files.readAllBytes(source.resolve("model.safetensors")));
        try (FileChannel channel = FileChannel.open(dir.resolve("model.safetensors"), StandardOpenOption.WRITE)) {
            channel.truncate(channel.size() - 100); // an interrupted download
        }
        final String message = assertThrows(ModelLoadException.class, () -> Engine.load(dir, new EngineOptions()))
                .getMessage();
        assertTrue(message.contains("out of range of the"), message);
        assertFalse(message.contains("\n"));
    }
}
