package io.splitserve.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A tokenizer.json that cannot be used gives one clear line saying what is wrong, never a raw stack trace. */
class MalformedTokenizerTest {
    private static final String BYTE_LEVEL = "\"decoder\": {\"type\": \"ByteLevel\"}";

    private static String error(String json) {
        return assertThrows(TokenizerException.class, () -> Tokenizer.fromJson(json)).getMessage();
    }

    @Test
    void badJsonNamesTheLocation() {
        assertEquals("tokenizer.json is not valid JSON (line 1, column 12)", error("{\"model\": {,}"));
    }

    @Test
    void unknownModelTypeIsNamed() {
        assertEquals("tokenizer.json: unsupported model type 'WordPiece' (only BPE is supported)",
                error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, " + BYTE_LEVEL + "}"));
    }

    @Test
    void missingVocabIsNamed() {
        assertEquals("tokenizer.json: model.vocab is missing or not an object",
                error("{\"model\": {\"type\": \"BPE\", \"merges\": []}, " + BYTE_LEVEL + "}"));
    }

    @Test
    void missingModelIsNamed() {
        assertEquals("tokenizer.json has no model section", error("{\"version\": \"1.0\"}"));
    }

    @Test
    void mergeOfUnknownTokensIsNamed() {
        assertEquals("tokenizer.json: merge #0 (a c) uses a token missing from model.vocab",
                error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a c\"]}, "
                        + BYTE_LEVEL + "}"));
    }

    @Test
    void malformedMergeIsNamed() {
        assertEquals("tokenizer.json: merge #0 is neither \"a b\" nor [a, b]: \"abc\"",
                error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"abc\"]}, " + BYTE_LEVEL + "}"));
    }

    @Test
    void unsupportedDecoderIsNamed() {
        assertEquals("tokenizer.json: unsupported decoder 'WordPiece' (only byte-level BPE tokenizers with a ByteLevel"
                        + " decoder are supported)",
                error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"decoder\": {\"type\": \"WordPiece\"}}"));
    }

    @Test
    void unsupportedPreTokenizerIsNamed() {
        assertEquals("tokenizer.json: unsupported pre_tokenizer type 'Metaspace'",
                error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, " + BYTE_LEVEL
                        + ", \"pre_tokenizer\": {\"type\": \"Metaspace\"}}"));
    }

    @Test
    void invalidSplitRegexIsNamed() {
        String message = error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, " + BYTE_LEVEL
                + ", \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(unclosed\"}, \"behavior\": \"Isolated\"}}");
        assertEquals("tokenizer.json: invalid Split regex: Unclosed group", message);
    }

    @Test
    void missingFileIsNamed(@TempDir Path dir) {
        Path absent = dir.resolve("tokenizer.json");
        assertEquals("tokenizer file not found: " + absent,
                assertThrows(TokenizerException.class, () -> Tokenizer.load(absent)).getMessage());
    }
}
