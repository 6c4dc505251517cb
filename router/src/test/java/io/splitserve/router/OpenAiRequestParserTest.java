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
    private static String rejectsBytes(byte[] body) {
        return assertThrows(OpenAiRequestParser.BadRequest.class, () -> OpenAiRequestParser.parse(body, false))
                .getMessage();
    }

    /** {"prompt":"a?"} with the bytes {@code bad} in place of the question mark. */
    private static byte[] promptWithBytes(int... bad) {
        final byte[] head = "{\"prompt\":\"a".getBytes(StandardCharsets.US_ASCII);
        final byte[] tail = "\"}".getBytes(StandardCharsets.US_ASCII);
        final byte[] body = new byte[head.length + bad.length + tail.length];
        System.arraycopy(head, 0, body, 0, head.length);
        for (int i = 0; i < bad.length; i++) {
            body[head.length + i] = (byte) bad[i];
        }
        System.arraycopy(tail, 0, body, head.length + bad.length, tail.length);
        return body;
    }

    @Test
    void trailingDataAfterTheObjectIsNamed() throws Exception {
        rejects("{\"prompt\":\"hi\"} x", false, "trailing data after the JSON object at character 16: 'x'");
        rejects("{\"prompt\":\"hi\"}{\"prompt\":\"again, and again\"}", false,
                "trailing data after the JSON object at character 15: '{\"prompt\":\"again, an...'");
        rejects("{\"prompt\":\"hi\"} 42", false, "trailing data after the JSON object");
        assertEquals("hi", parse(" {\"prompt\":\"hi\"} \r\n\t ", false).input().prompt(), "whitespace may trail");
    }

    @Test
    void bodyMustBeWellFormedUtf8() throws Exception {
        // overlong '/' (C0 AF), CESU-8 high surrogate D83D (ED A0 BD) + low DE00 (ED B8 80), a lone continuation byte
        assertTrue(rejectsBytes(promptWithBytes(0xC0, 0xAF)).startsWith(
                "the request body is not well-formed UTF-8: 1 invalid byte(s) at byte offset 12"));
        assertTrue(rejectsBytes(promptWithBytes(0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80)).startsWith(
                "the request body is not well-formed UTF-8"));
        assertTrue(rejectsBytes(promptWithBytes(0x80)).startsWith("the request body is not well-formed UTF-8"));
        assertTrue(rejectsBytes(promptWithBytes(0xE2, 0x82)).startsWith("the request body is not well-formed UTF-8"),
                "a sequence cut short");
        // the same emoji as real four-byte UTF-8 and as an escaped surrogate pair both read as one code point
        assertEquals("a\uD83D\uDE00", OpenAiRequestParser.parse(promptWithBytes(0xF0, 0x9F, 0x98, 0x80), false)
                .input().prompt());
        assertEquals("a\uD83D\uDE00", parse("{\"prompt\":\"a\\ud83d\\ude00\"}", false).input().prompt());
        assertEquals("Grüße, 世界", parse("{\"prompt\":\"Grüße, 世界\"}", false).input().prompt());
    }

    @Test
    void unpairedSurrogateEscapesAreRefusedWithTheirField() {
        rejects("{\"prompt\":\"a\\ud800\"}", false, "prompt holds an unpaired surrogate \\ud800 at character 1");
        rejects("{\"prompt\":\"\\ud800x\"}", false, "prompt holds an unpaired surrogate \\ud800 at character 0");
        rejects("{\"prompt\":\"\\udc00\"}", false, "prompt holds an unpaired surrogate \\udc00");
        rejects("{\"messages\":[{\"role\":\"user\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":\"\\ude00\\ud83d\"}]}",
                true, "messages[1].content holds an unpaired surrogate \\ude00");
        rejects("{\"prompt\":\"hi\",\"stop\":[\"a\",\"\\ud83d\"]}", false, "stop[1] holds an unpaired surrogate");
    }
}
