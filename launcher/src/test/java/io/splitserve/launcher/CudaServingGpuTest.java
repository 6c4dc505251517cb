package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * {@code serve} on the CUDA backend in one JVM, prefill and decode node on GPU 0 each on its own agent thread: a
 * request goes through prefill, bf16 KV streaming over IPC and CUDA decoding, and its first token (sampled on the
 * prefill node) is the one a single CUDA engine picks.
 */
@GpuTest
@Timeout(180)
class CudaServingGpuTest {
    @Test
    void aRequestIsServedPrefillOnOneCudaNodeDecodeOnAnother() throws Exception {
        final Path demo = TestSystems.demoModel();
        final String prompt = "Once upon a time";
        final int maxTokens = 24;
        final GenerationResult expected = TestSystems.oneCudaEngine(demo, prompt, maxTokens);
        try (ServingSystem system = ServingSystem.start(TestSystems.options("cuda-serving").backend(Backend.CUDA)
                .prefillGpu(0).decodeGpu(0).gpuMemFraction(0.1));
             SplitServeClient client = SplitServeClient.connect(new ClientContext(), system.aeron())) {
            final Completion got = client.generate(GenerateOptions.greedy(prompt, maxTokens));
            assertTrue(got.tokenIds().length > 0, "tokens came back");
            assertEquals(expected.tokens()[0], got.tokenIds()[0], "the prefill node's first token");
            int same = 0;
            while (same < Math.min(expected.tokens().length, got.tokenIds().length)
                    && expected.tokens()[same] == got.tokenIds()[same]) {
                same++;
            }
            System.out.println("served on CUDA: " + got.tokenIds().length + " tokens (" + got.finishReason() + "), "
                    + same + " equal to one CUDA engine's " + expected.tokens().length);
            assertEquals(expected.promptTokens().length, got.promptTokens());
        }
    }
}
