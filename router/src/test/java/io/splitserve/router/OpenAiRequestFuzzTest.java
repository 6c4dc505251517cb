package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.splitserve.engine.demo.DemoModel;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzz target for the HTTP shim's reading of a completion body: any bytes end in a parsed and validated request, a
 * {@link OpenAiRequestParser.BadRequest} or a {@link RequestRejectedException} with a message, never in another
 * exception. The first input byte picks the route (chat or plain completions), the rest is the body. A plain build
 * runs the committed inputs under {@code src/test/resources/io/splitserve/router/OpenAiRequestFuzzTestInputs/};
 * {@code JAZZER_FUZZ=1} fuzzes (DESIGN.md, Testing).
 */
class OpenAiRequestFuzzTest {
    private static RequestValidator validator;

    @BeforeAll
    static void loadModel() throws Exception {
        final Path dir = DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
        validator = new RequestValidator(ServedModel.load(dir, "demo"), 64, 64);
    }

    @FuzzTest(maxDuration = "3m")
    void anyBodyIsParsedOrRefusedWithAReason(byte[] input) {
        if (input.length == 0) {
            return;
        }
        final boolean chat = (input[0] & 1) == 1;
        final byte[] body = Arrays.copyOfRange(input, 1, input.length);
        final OpenAiRequestParser.Parsed parsed;
        try {
            parsed = OpenAiRequestParser.parse(body, chat);
        } catch (OpenAiRequestParser.BadRequest e) {
            assertNotNull(e.getMessage());
            return;
        }
        try {
            assertNotNull(validator.validate(parsed.input()));
        } catch (RequestRejectedException e) {
            assertNotNull(e.getMessage());
        }
    }
}
