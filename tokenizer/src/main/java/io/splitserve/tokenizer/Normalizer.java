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

    /**
     * Full Unicode lowercase of each character on its own, as HF's Lowercase does: unlike
     * {@link String#toLowerCase}, a word-final capital sigma becomes σ, not the final form ς.
     */
    private static String lowercaseEachCharacter(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int next = i + Character.charCount(cp);
            if (cp < 0x80) {
                out.append((char) Character.toLowerCase(cp));
            } else {
                out.append(text.substring(i, next).toLowerCase(Locale.ROOT));
            }
            i = next;
        }
        return out.toString();
    }

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
                return Normalizer::lowercaseEachCharacter;
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
