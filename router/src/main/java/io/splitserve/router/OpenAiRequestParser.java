package io.splitserve.router;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitserve.tokenizer.ChatMessage;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the JSON body of an OpenAI-style {@code /v1/completions} or {@code /v1/chat/completions} request into a
 * {@link CompletionInput}, strictly: a body that is not well-formed UTF-8 (invalid bytes, overlong forms, CESU-8
 * surrogate encodings), malformed JSON, anything but whitespace after the JSON object, a string holding an unpaired
 * surrogate escape (<code>&#92;ud800</code> alone), a field of the wrong type, an unknown field, or a known OpenAI option this
 * server does not implement set to a non-default value (n &gt; 1, logprobs, echo, penalties, ...) each get a one-line
 * reason naming the field or the position, so a client never silently gets something other than it asked for.
 */
final class OpenAiRequestParser {
    /** A request the shim will not pass on; {@code message} names the offending field. */
    static final class BadRequest extends Exception {
        private static final long serialVersionUID = 1L;

        BadRequest(String message) {
            super(message, null, false, false);
        }
    }

    /** What the HTTP side needs besides the input itself. */
    record Parsed(CompletionInput input, boolean stream, boolean includeUsage) { }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> COMMON = Set.of("model", "max_tokens", "temperature", "top_p", "top_k", "seed",
            "stop", "stream", "stream_options", "ignore_eos", "n", "user", "presence_penalty", "frequency_penalty",
            "logit_bias", "logprobs");
    private static final Set<String> COMPLETION_ONLY = Set.of("prompt", "echo", "best_of", "suffix");
    private static final Set<String> CHAT_ONLY = Set.of("messages", "max_completion_tokens", "top_logprobs");

    private OpenAiRequestParser() {}

    static Parsed parse(byte[] body, boolean chat) throws BadRequest {
        final JsonNode root = readObject(utf8(body));
        unpairedSurrogates(root, "");
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            final String name = names.next();
            if (!COMMON.contains(name) && !(chat ? CHAT_ONLY : COMPLETION_ONLY).contains(name)) {
                throw new BadRequest("unknown field '" + name + "'");
            }
        }
        unsupportedUnlessDefault(root, "n", 1);
        unsupportedUnlessDefault(root, "best_of", 1);
        unsupportedUnlessDefault(root, "presence_penalty", 0);
        unsupportedUnlessDefault(root, "frequency_penalty", 0);
        for (String field : List.of("logprobs", "top_logprobs")) {
            final JsonNode v = root.get(field);
            if (v != null && !v.isNull() && !(v.isBoolean() && !v.asBoolean()) && !(v.isNumber() && v.asDouble() == 0)) {
                throw new BadRequest(field + " is not supported");
            }
        }
        if (root.has("echo") && root.get("echo").asBoolean(false)) {
            throw new BadRequest("echo is not supported");
        }
        if (root.has("suffix") && !root.get("suffix").isNull()) {
            throw new BadRequest("suffix is not supported");
        }
        if (root.has("logit_bias") && !root.get("logit_bias").isNull() && root.get("logit_bias").size() > 0) {
            throw new BadRequest("logit_bias is not supported");
        }
        final String model = string(root, "model");
        final String prompt = chat ? null : prompt(root);
        final List<ChatMessage> messages = chat ? messages(root) : null;
        Integer maxTokens = integer(root, "max_tokens");
        if (chat && root.has("max_completion_tokens")) {
            maxTokens = integer(root, "max_completion_tokens");
        }
        final boolean stream = bool(root, "stream", false);
        boolean includeUsage = false;
        if (root.has("stream_options") && !root.get("stream_options").isNull()) {
            final JsonNode options = root.get("stream_options");
            if (!options.isObject()) {
                throw new BadRequest("stream_options must be an object");
            }
            includeUsage = bool(options, "include_usage", false);
        }
        return new Parsed(new CompletionInput(model, prompt, messages, maxTokens, number(root, "temperature"),
                number(root, "top_p"), integer(root, "top_k"), longValue(root, "seed"), stop(root),
                bool(root, "ignore_eos", false)), stream, includeUsage);
    }

    /** The body as text; a byte sequence that is not well-formed UTF-8 is refused with its byte offset. */
    private static String utf8(byte[] body) throws BadRequest {
        final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        final ByteBuffer in = ByteBuffer.wrap(body);
        final CharBuffer out = CharBuffer.allocate(body.length);
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            throw new BadRequest("the request body is not well-formed UTF-8: " + result.length()
                    + " invalid byte(s) at byte offset " + in.position());
        }
        return out.flip().toString();
    }

    /** The one JSON object the body holds; anything after it but whitespace is refused, named by its position. */
    private static JsonNode readObject(String text) throws BadRequest {
        try (JsonParser parser = JSON.createParser(text)) {
            final JsonNode root = JSON.readTree(parser);
            if (root == null || !root.isObject()) {
                throw new BadRequest("the request body must be a JSON object");
            }
            final int end = (int) parser.getCurrentLocation().getCharOffset();
            for (int i = end; i < text.length(); i++) {
                if (!isJsonWhitespace(text.charAt(i))) {
                    final String rest = text.substring(i, Math.min(text.length(), i + 20));
                    throw new BadRequest("trailing data after the JSON object at character " + i + ": '" + rest
                            + (i + 20 < text.length() ? "...'" : "'"));
                }
            }
            return root;
        } catch (JsonProcessingException e) {
            throw new BadRequest("malformed JSON: " + e.getOriginalMessage() + " (line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ")");
        } catch (java.io.IOException e) {
            throw new BadRequest("unreadable request body: " + e.getMessage());
        }
    }

    private static boolean isJsonWhitespace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }

    /**
     * Refuses a string or field name holding a high surrogate not followed by a low one, or a low one alone (which
     * only a <code>&#92;u</code> escape can produce once the bytes are well-formed UTF-8), naming the field by its path.
     */
    private static void unpairedSurrogates(JsonNode node, String path) throws BadRequest {
        if (node.isTextual()) {
            final String text = node.textValue();
            final int at = unpairedSurrogate(text);
            if (at >= 0) {
                throw new BadRequest((path.isEmpty() ? "a string" : path) + " holds an unpaired surrogate \\u"
                        + Integer.toHexString(text.charAt(at)) + " at character " + at);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                unpairedSurrogates(node.get(i), path + "[" + i + "]");
            }
        } else if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                final Map.Entry<String, JsonNode> field = it.next();
                final String name = path.isEmpty() ? field.getKey() : path + "." + field.getKey();
                if (unpairedSurrogate(field.getKey()) >= 0) {
                    throw new BadRequest("a field name in " + (path.isEmpty() ? "the request" : path)
                            + " holds an unpaired surrogate");
                }
                unpairedSurrogates(field.getValue(), name);
            }
        }
    }

    /** The index of the first unpaired surrogate in {@code text}, or -1. */
    private static int unpairedSurrogate(String text) {
        for (int i = 0; i < text.length(); i++) {
            final char c = text.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                } else {
                    return i;
                }
            } else if (Character.isLowSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    private static void unsupportedUnlessDefault(JsonNode root, String field, double defaultValue) throws BadRequest {
        final JsonNode v = root.get(field);
        if (v != null && !v.isNull() && (!v.isNumber() || v.asDouble() != defaultValue)) {
            throw new BadRequest(field + " other than " + (defaultValue == (long) defaultValue
                    ? Long.toString((long) defaultValue) : Double.toString(defaultValue)) + " is not supported");
        }
    }

    private static String prompt(JsonNode root) throws BadRequest {
        final JsonNode p = root.get("prompt");
        if (p == null || p.isNull()) {
            throw new BadRequest("prompt is required");
        }
        if (p.isTextual()) {
            return p.asText();
        }
        if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            return p.get(0).asText();
        }
        throw new BadRequest("prompt must be a string (or an array of one string)");
    }

    private static List<ChatMessage> messages(JsonNode root) throws BadRequest {
        final JsonNode m = root.get("messages");
        if (m == null || !m.isArray()) {
            throw new BadRequest("messages is required and must be an array");
        }
        final List<ChatMessage> out = new ArrayList<>();
        for (JsonNode message : m) {
            if (!message.isObject()) {
                throw new BadRequest("each message must be an object with role and content");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = message.fields(); it.hasNext(); ) {
                final String name = it.next().getKey();
                if (!name.equals("role") && !name.equals("content") && !name.equals("name")) {
                    throw new BadRequest("unknown field '" + name + "' in a message");
                }
            }
            final JsonNode role = message.get("role");
            final JsonNode content = message.get("content");
            if (role == null || !role.isTextual()) {
                throw new BadRequest("each message needs a role string");
            }
            if (content == null || !content.isTextual()) {
                throw new BadRequest("message content must be a string");
            }
            out.add(new ChatMessage(role.asText(), content.asText()));
        }
        return out;
    }

    private static List<String> stop(JsonNode root) throws BadRequest {
        final JsonNode s = root.get("stop");
        if (s == null || s.isNull()) {
            return null;
        }
        if (s.isTextual()) {
            return List.of(s.asText());
        }
        if (s.isArray()) {
            final List<String> out = new ArrayList<>();
            for (JsonNode item : s) {
                if (!item.isTextual()) {
                    throw new BadRequest("stop must be a string or an array of strings");
                }
                out.add(item.asText());
            }
            return out;
        }
        throw new BadRequest("stop must be a string or an array of strings");
    }

    private static String string(JsonNode root, String field) throws BadRequest {
        final JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new BadRequest(field + " must be a string");
        }
        return v.asText();
    }

    private static Integer integer(JsonNode root, String field) throws BadRequest {
        final JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new BadRequest(field + " must be an integer, got " + v);
        }
        return v.asInt();
    }

    private static Long longValue(JsonNode root, String field) throws BadRequest {
        final JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new BadRequest(field + " must be an integer, got " + v);
        }
        return v.asLong();
    }

    private static Double number(JsonNode root, String field) throws BadRequest {
        final JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber()) {
            throw new BadRequest(field + " must be a number, got " + v);
        }
        return v.asDouble();
    }

    private static boolean bool(JsonNode root, String field, boolean defaultValue) throws BadRequest {
        final JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (!v.isBoolean()) {
            throw new BadRequest(field + " must be true or false, got " + v);
        }
        return v.asBoolean();
    }
}
