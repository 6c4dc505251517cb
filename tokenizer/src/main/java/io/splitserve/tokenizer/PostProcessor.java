package io.splitserve.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code post_processor} of a tokenizer.json, applied when the caller asks for special tokens: for Llama 3.1
 * a TemplateProcessing that puts {@code <|begin_of_text|>} before the text's ids. ByteLevel only adjusts offsets,
 * so it leaves ids unchanged.
 */
@FunctionalInterface
interface PostProcessor {
    PostProcessor NONE = ids -> ids;

    int[] process(int[] ids);

    static PostProcessor fromJson(JsonNode node) throws TokenizerException {
        if (node == null || node.isNull()) {
            return NONE;
        }
        String type = node.path("type").asText("");
        switch (type) {
            case "ByteLevel":
                return NONE;
            case "Sequence": {
                List<PostProcessor> stages = new ArrayList<>();
                for (JsonNode stage : node.path("processors")) {
                    stages.add(fromJson(stage));
                }
                return ids -> {
                    int[] result = ids;
                    for (PostProcessor stage : stages) {
                        result = stage.process(result);
                    }
                    return result;
                };
            }
            case "TemplateProcessing":
                return template(node);
            default:
                throw new TokenizerException("tokenizer.json: unsupported post_processor type '" + type + "'");
        }
    }

    /** The "single" template: a list of special-token ids and one place ("A") where the text's ids go. */
    private static PostProcessor template(JsonNode node) throws TokenizerException {
        List<int[]> parts = new ArrayList<>();
        int sequenceIndex = -1;
        for (JsonNode item : node.path("single")) {
            if (item.has("Sequence")) {
                if (!"A".equals(item.get("Sequence").path("id").asText())) {
                    throw new TokenizerException("tokenizer.json: TemplateProcessing single template may only use sequence A");
                }
                sequenceIndex = parts.size();
                parts.add(null);
            } else if (item.has("SpecialToken")) {
                String name = item.get("SpecialToken").path("id").asText();
                JsonNode special = node.path("special_tokens").get(name);
                if (special == null || !special.path("ids").isArray()) {
                    throw new TokenizerException("tokenizer.json: TemplateProcessing names special token '" + name
                            + "' that its special_tokens does not define");
                }
                int[] ids = new int[special.get("ids").size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = special.get("ids").get(i).asInt();
                }
                parts.add(ids);
            } else {
                throw new TokenizerException("tokenizer.json: unknown TemplateProcessing item " + item);
            }
        }
        if (sequenceIndex < 0) {
            throw new TokenizerException("tokenizer.json: TemplateProcessing single template has no sequence A");
        }
        int fixed = parts.stream().mapToInt(p -> p == null ? 0 : p.length).sum();
        return ids -> {
            int[] out = new int[fixed + ids.length];
            int n = 0;
            for (int[] part : parts) {
                int[] source = part == null ? ids : part;
                System.arraycopy(source, 0, out, n, source.length);
                n += source.length;
            }
            return out;
        };
    }
}
