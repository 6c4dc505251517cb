package io.splitserve.router;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitserve.tokenizer.ChatMessage;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the JSON body of an OpenAI-style {@code /v1/completions} or {@code /v1/chat/completions} request into a
 * {@link CompletionInput}, strictly: malformed JSON, a field of the wrong type, an unknown field, or a known OpenAI
 * option this server does not implement set to a non-default value (n &gt; 1, logprobs, echo, penalties, ...) each
 * get a one-line reason naming the field, so a client never silently gets something other than it asked for.
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
        final JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new BadRequest("malformed JSON: " + e.getOriginalMessage() + " (line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ")");
        } catch (java.io.IOException e) {
            throw new BadRequest("unreadable request body: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new BadRequest("the request body must be a JSON object");
        }
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
