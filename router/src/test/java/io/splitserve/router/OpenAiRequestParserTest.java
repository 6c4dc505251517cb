package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The strict reading of OpenAI request bodies: what is accepted, and each rejection's message. */
class OpenAiRequestParserTest {
    private static OpenAiRequestParser.Parsed parse(String json, boolean chat) throws Exception {
        return OpenAiRequestParser.parse(json.getBytes(StandardCharsets.UTF_8), chat);
    }

    private static void rejects(String json, boolean chat, String message) {
        final OpenAiRequestParser.BadRequest e = assertThrows(OpenAiRequestParser.BadRequest.class,
                () -> parse(json, chat));
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
    }

    @Test
    void readsCompletionAndChatFields() throws Exception {
        final OpenAiRequestParser.Parsed completion = parse("{\"model\":\"m\",\"prompt\":[\"hi\"],\"max_tokens\":7,"
                + "\"temperature\":0.5,\"top_p\":0.9,\"top_k\":3,\"seed\":11,\"stop\":\"END\",\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true},\"n\":1,\"logprobs\":null,\"user\":\"u\"}", false);
        final CompletionInput in = completion.input();
        assertEquals("m", in.model());
        assertEquals("hi", in.prompt());
        assertNull(in.messages());
        assertEquals(7, in.maxTokens());
        assertEquals(0.5, in.temperature());
        assertEquals(3, in.topK());
        assertEquals(11L, in.seed());
        assertEquals(List.of("END"), in.stop());
        assertTrue(completion.stream());
        assertTrue(completion.includeUsage());
        final OpenAiRequestParser.Parsed chat = parse("{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
                + "{\"role\":\"user\",\"content\":\"u\"}],\"max_completion_tokens\":4,\"stop\":[\"a\",\"b\"]}", true);
        assertEquals(2, chat.input().messages().size());
        assertEquals("user", chat.input().messages().get(1).role());
        assertEquals(4, chat.input().maxTokens());
        assertEquals(List.of("a", "b"), chat.input().stop());
    }

    @Test
    void rejectsWithTheFieldNamed() {
        rejects("{\"prompt\":", false, "malformed JSON");
        rejects("[1,2]", false, "the request body must be a JSON object");
        rejects("{\"prompt\":\"hi\",\"temprature\":1}", false, "unknown field 'temprature'");
        rejects("{\"prompt\":\"hi\",\"messages\":[]}", false, "unknown field 'messages'");
        rejects("{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"tool\":1}]}", true,
                "unknown field 'tool' in a message");
        rejects("{\"prompt\":\"hi\",\"max_tokens\":1.5}", false, "max_tokens must be an integer, got 1.5");
        rejects("{\"prompt\":\"hi\",\"temperature\":\"hot\"}", false, "temperature must be a number");
        rejects("{\"prompt\":\"hi\",\"stream\":\"yes\"}", false, "stream must be true or false");
        rejects("{\"prompt\":\"hi\",\"stop\":[1]}", false, "stop must be a string or an array of strings");
        rejects("{\"prompt\":\"hi\",\"n\":3}", false, "n other than 1 is not supported");
        rejects("{\"prompt\":\"hi\",\"presence_penalty\":0.5}", false, "presence_penalty other than 0 is not supported");
        rejects("{\"prompt\":\"hi\",\"logprobs\":5}", false, "logprobs is not supported");
        rejects("{\"prompt\":\"hi\",\"echo\":true}", false, "echo is not supported");
        rejects("{\"prompt\":[\"a\",\"b\"]}", false, "prompt must be a string");
        rejects("{}", false, "prompt is required");
        rejects("{\"messages\":\"hi\"}", true, "messages is required and must be an array");
        rejects("{\"messages\":[{\"role\":\"user\",\"content\":[1]}]}", true, "message content must be a string");
    }
}
