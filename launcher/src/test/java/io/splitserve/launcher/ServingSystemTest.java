package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.client.ClientContext;
import io.splitserve.client.Completion;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.SplitServeException;
import io.splitserve.client.Token;
import io.splitserve.client.TokenStream;
import io.splitserve.decode.DecodeNodeAgent;
import io.splitserve.engine.generate.GenerationResult;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The disaggregated path in one JVM over IPC (1 prefill + 1 decode node), driven by the Aeron client: greedy output
 * equals {@code generate}; concurrent requests each get every token exactly once, in order; cancel frees pages on
 * the decode node; bad input gets its precise error code.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class ServingSystemTest {
    Path demo;
    ServingSystem system;
    SplitServeClient client;

    @BeforeAll
    void start() throws Exception {
        demo = TestSystems.demoModel();
        system = ServingSystem.start(TestSystems.options("serving")
                .routerSettings(ctx -> ctx.maxInputLength(64).maxOutputLength(512)));
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
        assertEquals(expected.promptTokens().length, got.promptTokens());
    }

    @Test
    void concurrentRequestsGetEveryTokenOnceInOrder() throws Exception {
        final String[] prompts = {"The cat", "In the beginning", "A small house by the sea", "Why", "She said"};
        final List<TokenStream> streams = new ArrayList<>();
        for (String p : prompts) {
            streams.add(client.stream(GenerateOptions.greedy(p, 20)));
        }
        for (int i = 0; i < prompts.length; i++) {
            final List<Integer> ids = new ArrayList<>();
            final StringBuilder text = new StringBuilder();
            final TokenStream stream = streams.get(i);
            while (stream.hasNext()) {
                final Token t = stream.next();
                assertEquals(ids.size(), t.index(), "indices are consecutive from 0: no gap, no duplicate");
                ids.add(t.tokenId());
                text.append(t.text());
            }
            final GenerationResult expected = Reference.generate(demo, prompts[i], 20);
            assertArrayEquals(expected.tokens(), ids.stream().mapToInt(Integer::intValue).toArray(), prompts[i]);
            assertEquals(expected.text(), text.toString());
        }
    }

    @Test
    void cancelEndsTheStreamAndFreesPagesOnTheDecodeNode() throws Exception {
        final DecodeNodeAgent decode = system.decodeAgents().get(0);
        final TokenStream stream = client.stream(GenerateOptions.greedy("Cancel me after a few tokens", 500));
        for (int i = 0; i < 3; i++) {
            assertEquals(FinishReason.NONE, stream.next().finish());
        }
        client.cancel(stream.requestId());
        Token last = stream.next();
        while (!last.isLast()) {
            last = stream.next();
        }
        assertEquals(FinishReason.CANCELLED, last.finish(), "the stream ends with an explicit CANCELLED event");
        assertEquals(-1, last.tokenId());
        Await.until("every KV page back in the decode node's pool", () -> decode.freePages() == decode.totalPages());
    }

    @Test
    void badInputGetsItsErrorCode() {
        // over --max-input-length (64 tokens here): PROMPT_TOO_LONG
        assertEquals(ErrorCode.PROMPT_TOO_LONG, assertThrows(SplitServeException.class,
                () -> client.generate(GenerateOptions.greedy("word ".repeat(200), 4))).code());
        // a model this router does not serve: UNKNOWN_MODEL
        assertEquals(ErrorCode.UNKNOWN_MODEL, assertThrows(SplitServeException.class, () -> client.generate(
                new GenerateOptions("gpt-4", "hi", false, 4, 0f, 1f, 0, 0, List.of(), false))).code());
        // temperature outside [0, 2]: BAD_REQUEST naming it
        final SplitServeException temperature = assertThrows(SplitServeException.class, () -> client.generate(
                new GenerateOptions("", "hi", false, 4, 3f, 1f, 0, 0, List.of(), false)));
        assertEquals(ErrorCode.BAD_REQUEST, temperature.code());
        assertTrue(temperature.getMessage().contains("temperature must be between 0 and 2"), temperature.getMessage());
        // chat messages that are not JSON: BAD_REQUEST
        assertEquals(ErrorCode.BAD_REQUEST, assertThrows(SplitServeException.class, () -> client.generate(
                new GenerateOptions("", "[{role: user", true, 4, 0f, 1f, 0, 0, List.of(), false))).code());
        // max tokens above --max-output-length (512 here): BAD_REQUEST
        assertEquals(ErrorCode.BAD_REQUEST, assertThrows(SplitServeException.class,
                () -> client.generate(GenerateOptions.greedy("hi", 513))).code());
    }

    @Test
    void stopStringEndsTheTextBeforeIt() throws Exception {
        final GenerationResult expected = Reference.generate(demo, "Once upon a time", 24);
        final String stop = expected.text().substring(10, 14);
        final Completion got = client.generate(new GenerateOptions("", "Once upon a time", false, 24, 0f, 1f, 0, 0,
                List.of(stop), false));
        assertEquals(FinishReason.STOP, got.finishReason());
        assertEquals(expected.text().substring(0, expected.text().indexOf(stop)), got.text());
    }
}
