package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.splitserve.client.ClientContext;
import io.splitserve.client.Completion;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.engine.Backend;
import io.splitserve.engine.generate.GenerationResult;
import io.splitserve.kernels.cuda.GpuTest;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code serve} on the CUDA backend in one JVM, prefill and decode node on GPU 0 each on its own agent thread: requests
 * go through prefill, bf16 KV streaming over IPC and CUDA decoding, and every request's tokens, the decode node's
 * included, follow a single CUDA engine's greedy output as {@link GreedyAgreement} requires.
 */
@GpuTest
@Timeout(300)
class CudaServingGpuTest {
    private static final String[] PROMPTS = {"Once upon a time", "The quick brown fox", "In a hole in the ground",
        "Tell me about the sea"};
    private static final int MAX_TOKENS = 32;

    @Test
    void requestsServedPrefillOnOneCudaNodeDecodeOnAnotherFollowOneCudaEngine() throws Exception {
        final Path demo = TestSystems.demoModel();
        final GenerationResult[] expected = new GenerationResult[PROMPTS.length];
        for (int i = 0; i < PROMPTS.length; i++) {
            expected[i] = TestSystems.oneCudaEngine(demo, PROMPTS[i], MAX_TOKENS);
        }
        final GreedyAgreement agreement = new GreedyAgreement();
        try (ServingSystem system = ServingSystem.start(TestSystems.options("cuda-serving").backend(Backend.CUDA)
                .prefillGpu(0).decodeGpu(0).gpuMemFraction(0.1));
             SplitServeClient client = SplitServeClient.connect(new ClientContext(), system.aeron())) {
            for (int i = 0; i < PROMPTS.length; i++) {
                final Completion got = client.generate(GenerateOptions.greedy(PROMPTS[i], MAX_TOKENS));
                assertEquals(expected[i].promptTokens().length, got.promptTokens(), PROMPTS[i]);
                agreement.compare(PROMPTS[i], expected[i].tokens(), got.tokenIds());
            }
        }
        agreement.assertAgreement(PROMPTS.length);
    }
}
