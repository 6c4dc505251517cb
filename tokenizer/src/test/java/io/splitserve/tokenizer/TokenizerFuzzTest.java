package io.splitserve.tokenizer;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Fuzz targets for what a model directory hands the tokenizer module: a tokenizer.json loads (and then encodes and
 * decodes a text) or is refused with a {@link TokenizerException}; a chat template and a conversation render or fail
 * with an {@link IllegalArgumentException} carrying the template's message, never another exception, a hang or a
 * blown stack. Inputs are plain files: a tokenizer.json; a template followed by NUL-separated role and content
 * pairs. A plain build runs the committed inputs under
 * {@code src/test/resources/io/splitserve/tokenizer/TokenizerFuzzTestInputs/}; {@code JAZZER_FUZZ=1} fuzzes one
 * target per run (DESIGN.md, Testing).
 */
class TokenizerFuzzTest {
    @FuzzTest(maxDuration = "3m")
    void anyTokenizerJsonLoadsOrIsRefusedWithAReason(byte[] json) {
        final Tokenizer tokenizer;
        try {
            tokenizer = Tokenizer.fromJson(new String(json, StandardCharsets.UTF_8));
        } catch (TokenizerException e) {
            assertNotNull(e.getMessage());
            return;
        }
        assertNotNull(tokenizer.decode(tokenizer.encode("Hello, wörld! 12 <s>", true), false));
    }

    @FuzzTest(maxDuration = "3m")
    void anyChatTemplateRendersOrFailsWithAReason(byte[] input) {
        final String[] parts = new String(input, StandardCharsets.UTF_8).split("\0", -1);
        final List<ChatMessage> messages = new ArrayList<>();
        for (int i = 1; i + 1 < parts.length; i += 2) {
            messages.add(new ChatMessage(parts[i], parts[i + 1]));
        }
        try {
            final ChatTemplate template = ChatTemplate.of(parts[0], "<s>", "</s>");
            assertNotNull(template.render(messages, parts.length % 2 == 0));
        } catch (IllegalArgumentException e) {
            assertNotNull(e.getMessage());
        }
    }
}
