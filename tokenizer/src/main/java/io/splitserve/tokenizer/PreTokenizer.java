package io.splitserve.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The {@code pre_tokenizer} stage of a tokenizer.json: cuts normalized text into pieces that BPE encodes one at a
 * time (merges never cross a piece boundary). Supports {@code Split}, {@code ByteLevel} and {@code Sequence}.
 */
@FunctionalInterface
interface PreTokenizer {
    PreTokenizer NONE = (pieces) -> pieces;

    /** The GPT-2 pattern that ByteLevel uses when {@code use_regex} is true. */
    String GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    /** Splits every piece further; never returns empty pieces. */
    List<String> apply(List<String> pieces);

    static PreTokenizer fromJson(JsonNode node) throws TokenizerException {
        if (node == null || node.isNull()) {
            return NONE;
        }
        String type = node.path("type").asText("");
        switch (type) {
            case "Sequence": {
                List<PreTokenizer> stages = new ArrayList<>();
                for (JsonNode stage : node.path("pretokenizers")) {
                    stages.add(fromJson(stage));
                }
                return pieces -> {
                    List<String> result = pieces;
                    for (PreTokenizer stage : stages) {
                        result = stage.apply(result);
                    }
                    return result;
                };
            }
            case "Split":
                return split(node);
            case "ByteLevel":
                return byteLevel(node);
            default:
                throw new TokenizerException("tokenizer.json: unsupported pre_tokenizer type '" + type + "'");
        }
    }

    private static PreTokenizer split(JsonNode node) throws TokenizerException {
        JsonNode pattern = node.path("pattern");
        Pattern regex;
        if (pattern.has("Regex")) {
            regex = RegexSplitter.compile(pattern.get("Regex").asText());
        } else if (pattern.has("String")) {
            regex = Pattern.compile(Pattern.quote(pattern.get("String").asText()));
        } else {
            throw new TokenizerException("tokenizer.json: Split pre_tokenizer needs a pattern with Regex or String");
        }
        RegexSplitter.Behavior behavior = RegexSplitter.Behavior.fromJson(node.path("behavior").asText("Isolated"));
        RegexSplitter splitter = new RegexSplitter(regex, behavior, node.path("invert").asBoolean(false));
        return pieces -> {
            List<String> out = new ArrayList<>();
            for (String piece : pieces) {
                splitter.split(piece, out);
            }
            return out;
        };
    }

    private static PreTokenizer byteLevel(JsonNode node) throws TokenizerException {
        boolean addPrefixSpace = node.path("add_prefix_space").asBoolean(true);
        RegexSplitter splitter = node.path("use_regex").asBoolean(true)
                ? new RegexSplitter(RegexSplitter.compile(GPT2_PATTERN), RegexSplitter.Behavior.ISOLATED, false)
                : null;
        return pieces -> {
            List<String> split = new ArrayList<>();
            for (String piece : pieces) {
                String text = addPrefixSpace && !piece.startsWith(" ") ? " " + piece : piece;
                if (splitter == null) {
                    split.add(text);
                } else {
                    splitter.split(text, split);
                }
            }
            List<String> out = new ArrayList<>(split.size());
            for (String piece : split) {
                out.add(ByteLevelAlphabet.encode(piece));
            }
            return out;
        };
    }
}
