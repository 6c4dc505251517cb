package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.splitserve.engine.demo.DemoModel;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.tokenizer.ChatMessage;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each admission check's error code and exact message, and what an accepted request becomes. */
class RequestValidatorTest {
    static ServedModel model;
    static RequestValidator validator;

    @BeforeAll
    static void load() throws Exception {
        final Path dir = DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
        model = ServedModel.load(dir, "demo");
        validator = new RequestValidator(model, 32, 100);
    }

    private static CompletionInput prompt(String text) {
        return new CompletionInput(null, text, null, 10, 0.0, null, null, null, null, false);
    }

    private static void rejects(CompletionInput in, ErrorCode code, String message) {
        final RequestRejectedException e = assertThrows(RequestRejectedException.class, () -> validator.validate(in));
        assertEquals(code, e.code());
        assertEquals(message, e.getMessage());
    }

    @Test
    void acceptedRequestIsTokenizedWithDefaults() throws Exception {
        final ValidatedRequest v = validator.validate(new CompletionInput("demo", "Once upon a time", null, null, null,
                null, -1, null, List.of("."), false));
        assertArrayEquals(model.tokenizer().encode("Once upon a time", true), v.promptTokens());
        assertEquals(RequestValidator.DEFAULT_MAX_TOKENS, v.maxNewTokens());
        assertEquals(1.0f, v.temperature());
        assertEquals(0, v.topK(), "-1 turns top-k off");
        assertArrayEquals(model.stopTokenIds(), v.stopTokenIds());
    }

    @Test
    void chatMessagesGoThroughTheChatTemplate() throws Exception {
        final List<ChatMessage> messages = List.of(new ChatMessage("user", "Hello"));
        final ValidatedRequest v = validator.validate(new CompletionInput(null, null, messages, 5, 0.0, null, null,
                null, null, true));
        assertArrayEquals(model.tokenizer().encode(model.chatTemplate().render(messages, true), false), v.promptTokens());
        assertEquals(0, v.stopTokenIds().length, "ignore_eos drops the end-of-sequence ids");
    }

    @Test
    void eachBadInputHasItsCodeAndMessage() {
        rejects(new CompletionInput("gpt-4", "hi", null, 10, 0.0, null, null, null, null, false),
                ErrorCode.UNKNOWN_MODEL, "model 'gpt-4' does not exist; this server serves 'demo'");
        final int tokens = model.tokenizer().encode("word ".repeat(40), true).length;
        rejects(prompt("word ".repeat(40)), ErrorCode.PROMPT_TOO_LONG,
                "prompt has " + tokens + " tokens; the limit is 32 (--max-input-length)");
        rejects(prompt(""), ErrorCode.BAD_REQUEST, "prompt is empty");
        rejects(new CompletionInput(null, "hi", null, 0, null, null, null, null, null, false), ErrorCode.BAD_REQUEST,
                "max_tokens must be between 1 and 100 (--max-output-length), got 0");
        rejects(new CompletionInput(null, "hi", null, 5, 2.5, null, null, null, null, false), ErrorCode.BAD_REQUEST,
                "temperature must be between 0 and 2, got 2.5");
        rejects(new CompletionInput(null, "hi", null, 5, null, 1.5, null, null, null, false), ErrorCode.BAD_REQUEST,
                "top_p must be greater than 0 and at most 1, got 1.5");
        rejects(new CompletionInput(null, "hi", null, 5, null, null, -3, null, null, false), ErrorCode.BAD_REQUEST,
                "top_k must be -1 or 0 (off) or a positive count, got -3");
        rejects(new CompletionInput(null, "hi", null, 5, null, null, null, null, List.of("a", "b", "c", "d", "e"), false),
                ErrorCode.BAD_REQUEST, "at most 4 stop strings are allowed, got 5");
        rejects(new CompletionInput(null, "hi", null, 5, null, null, null, null, List.of(""), false),
                ErrorCode.BAD_REQUEST, "stop strings must not be empty");
        rejects(new CompletionInput(null, "hi", List.of(new ChatMessage("user", "x")), 5, null, null, null, null, null,
                false), ErrorCode.BAD_REQUEST, "give exactly one of prompt and messages");
        rejects(new CompletionInput(null, null, List.of(new ChatMessage("robot", "x")), 5, null, null, null, null, null,
                false), ErrorCode.BAD_REQUEST, "message role must be system, user or assistant, got 'robot'");
        final RequestValidator tinyContext = new RequestValidator(model, 32, 5000);
        final RequestRejectedException e = assertThrows(RequestRejectedException.class,
                () -> tinyContext.validate(new CompletionInput(null, "hi", null, 5000, null, null, null, null, null, false)));
        assertEquals(ErrorCode.PROMPT_TOO_LONG, e.code());
        final int hi = model.tokenizer().encode("hi", true).length;
        assertEquals("prompt of " + hi + " tokens plus max_tokens 5000 exceeds the model's context of 4096 tokens",
                e.getMessage());
    }
}
