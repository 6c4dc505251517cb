package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.splitserve.client.ClientContext;
import io.splitserve.client.Completion;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.TokenStream;
import io.splitserve.decode.DecodeNodeAgent;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code serve --colocated}, the non-disaggregated baseline: one node prefills in chunks of the token budget while
 * decoding others, and its greedy output still equals {@code generate}.
 */
@Timeout(60)
class ColocatedTest {
    @Test
    void chunkedPrefillBesideDecodingGivesGenerateOutput() throws Exception {
        final Path demo = TestSystems.demoModel();
        try (ServingSystem system = ServingSystem.start(TestSystems.options("colocated").colocated(true)
                .prefillTokenBudget(4));
             SplitServeClient client = SplitServeClient.connect(new ClientContext(), system.aeron())) {
            final String longPrompt = "A prompt long enough to need several chunks of four tokens each";
            final TokenStream running = client.stream(GenerateOptions.greedy("Decoding meanwhile", 30));
            running.next();
            final Completion got = client.generate(GenerateOptions.greedy(longPrompt, 12));
            assertArrayEquals(Reference.generate(demo, longPrompt, 12).tokens(), got.tokenIds());
            running.close();
            final DecodeNodeAgent node = system.decodeAgents().get(0);
            Await.until("every KV page back in the node's pool", () -> node.freePages() == node.totalPages());
        }
    }
}
