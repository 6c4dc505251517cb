package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.client.ClientContext;
import io.splitserve.client.Completion;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.generate.GenerationRequest;
import io.splitserve.engine.generate.TextGenerator;
import io.splitserve.model.SamplingParams;
import io.splitserve.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A prompt close to the longest the router accepts (4,096 tokens by default), served disaggregated on the CPU: each
 * layer of its prefill computes for longer than the KV receiver's silence timeout (2 s) and the whole prefill longer
 * than the router's heartbeat timeout (1 s), so it succeeds only because nodes heartbeat and keep their transfers
 * alive from threads that do not wait for the engine. Before that, this prompt failed after four attempts ("prefill
 * node 1 stopped responding"). The answer equals one CPU engine's greedy answer for the same prompt tokens.
 */
@Timeout(240)
class LongPromptServingTest {
    private static final String PROMPT = "The lighthouse keeper counted the ships that passed in the night. ".repeat(140);

    @Test
    void aPromptNearTheInputLimitIsServedDisaggregatedLikeOneEngine() throws Exception {
        final Path model = TestSystems.demoModel();
        final Completion served;
        try (ServingSystem system = ServingSystem.start(TestSystems.options("long-prompt"));
             SplitServeClient client = SplitServeClient.connect(new ClientContext(), system.aeron())) {
            served = client.generate(GenerateOptions.greedy(PROMPT, 4));
        }
        assertTrue(served.promptTokens() > 3_500 && served.promptTokens() < 4_096, "prompt of "
                + served.promptTokens() + " tokens");
        try (Engine engine = Engine.load(model, new EngineOptions())) {
            final Tokenizer tokenizer = Tokenizer.load(model.resolve("tokenizer.json"));
            final int[] prompt = tokenizer.encode(PROMPT, true);
            assertEquals(served.promptTokens(), prompt.length, "the same prompt tokens");
            final int[] reference = new TextGenerator(engine, tokenizer).generate(new GenerationRequest(prompt,
                    SamplingParams.greedy(), 4, List.of(), engine.stopTokenIds()), piece -> { }).tokens();
            assertArrayEquals(reference, served.tokenIds());
        }
    }
}
