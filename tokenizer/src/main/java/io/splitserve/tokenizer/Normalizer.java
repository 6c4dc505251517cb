package io.splitserve.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The {@code normalizer} stage of a tokenizer.json: rewrites text before pre-tokenization (Qwen uses NFC, so
 * composed and decomposed accents give the same ids). A null normalizer leaves text unchanged.
 */
@FunctionalInterface
interface Normalizer {
    Normalizer IDENTITY = text -> text;

    String normalize(String text);

    static Normalizer fromJson(JsonNode node) throws TokenizerException {
        if (node == null || node.isNull()) {
            return IDENTITY;
        }
        String type = node.path("type").asText("");
        switch (type) {
            case "NFC":
                return text -> java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFC);
            case "NFD":
                return text -> java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFD);
            case "NFKC":
                return text -> java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFKC);
            case "NFKD":
                return text -> java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFKD);
            case "Lowercase":
                return text -> text.toLowerCase(Locale.ROOT);
            case "Sequence": {
                List<Normalizer> stages = new ArrayList<>();
                for (JsonNode stage : node.path("normalizers")) {
                    stages.add(fromJson(stage));
                }
                return text -> {
                    String result = text;
                    for (Normalizer stage : stages) {
                        result = stage.normalize(result);
                    }
                    return result;
                };
            }
            default:
                throw new TokenizerException("tokenizer.json: unsupported normalizer type '" + type + "'");
        }
    }
}
