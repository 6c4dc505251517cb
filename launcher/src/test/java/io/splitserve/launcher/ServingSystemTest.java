package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.splitserve.client.ClientContext;
import io.splitserve.client.Completion;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.engine.generate.GenerationResult;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** The disaggregated path in one JVM over IPC, driven by the Aeron client. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class ServingSystemTest {
    Path demo;
    ServingSystem system;
    SplitServeClient client;

    @BeforeAll
    void start() throws Exception {
        demo = TestSystems.demoModel();
        system = ServingSystem.start(TestSystems.options("serving"));
        client = SplitServeClient.connect(new ClientContext(), system.aeron());
    }

    @AfterAll
    void stop() {
        if (client != null) {
            client.close();
        }
        if (system != null) {
            system.close();
        }
    }

    @Test
    void greedyThroughPrefillAndDecodeNodesEqualsGenerate() throws Exception {
        final String prompt = "Once upon a time";
        final GenerationResult expected = Reference.generate(demo, prompt, 24);
        final Completion got = client.generate(GenerateOptions.greedy(prompt, 24));
        assertArrayEquals(expected.tokens(), got.tokenIds());
        assertEquals(expected.text(), got.text());
        assertEquals(expected.finishReason().apiName(), got.finishReason().name().toLowerCase());
    }
}
