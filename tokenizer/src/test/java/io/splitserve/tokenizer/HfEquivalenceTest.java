package io.splitserve.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every corpus string encodes to the ids Hugging Face tokenizers gave (with and without special tokens) and those
 * ids decode to HF's text (special tokens kept or skipped, and cut in the middle of a character).
 */
class HfEquivalenceTest {
    static final List<String> ALL = HfGoldens.ALL;

    @ParameterizedTest(name = "{0}")
    @FieldSource("ALL")
    void corpusEncodesToHfIds(String name) {
        Tokenizer tokenizer = HfGoldens.tokenizer(name);
        List<String> mismatches = new ArrayList<>();
        JsonNode rows = HfGoldens.golden(name).get("corpus");
        for (JsonNode row : rows) {
            String text = row.get("text").asText();
            int[] expected = HfGoldens.ids(row.get("ids"));
            int[] actual = tokenizer.encode(text, false);
            if (!Arrays.equals(expected, actual)) {
                mismatches.add(describe(text, expected, actual));
            }
            int[] expectedSpecial = HfGoldens.ids(row.get("ids_special"));
            int[] actualSpecial = tokenizer.encode(text, true);
            if (!Arrays.equals(expectedSpecial, actualSpecial)) {
                mismatches.add("[special] " + describe(text, expectedSpecial, actualSpecial));
            }
        }
        assertEquals(HfGoldens.corpus().size(), rows.size(), "golden covers the committed corpus");
        assertTrue(mismatches.isEmpty(), name + ": " + mismatches.size() + " mismatches, first: "
                + mismatches.subList(0, Math.min(5, mismatches.size())));
    }

    @ParameterizedTest(name = "{0}")
    @FieldSource("ALL")
    void hfIdsDecodeToHfText(String name) {
        Tokenizer tokenizer = HfGoldens.tokenizer(name);
        List<String> mismatches = new ArrayList<>();
        for (JsonNode row : HfGoldens.golden(name).get("corpus")) {
            int[] plain = HfGoldens.ids(row.get("ids"));
            int[] special = HfGoldens.ids(row.get("ids_special"));
            int[] half = HfGoldens.ids(row.get("half_ids"));
            check(mismatches, "decoded", row, tokenizer.decode(plain, false));
            check(mismatches, "decoded_skip", row, tokenizer.decode(special, true));
            check(mismatches, "decoded_special", row, tokenizer.decode(special, false));
            check(mismatches, "decoded_half", row, tokenizer.decode(half, false));
        }
        assertTrue(mismatches.isEmpty(), name + ": " + mismatches.size() + " mismatches, first: "
                + mismatches.subList(0, Math.min(5, mismatches.size())));
    }

    @ParameterizedTest(name = "{0}")
    @FieldSource("ALL")
    void vocabularySizeEqualsHf(String name) {
        assertEquals(HfGoldens.golden(name).get("vocab_size").asInt(), HfGoldens.tokenizer(name).vocabSize());
    }

    private static void check(List<String> mismatches, String field, JsonNode row, String actual) {
        String expected = row.get(field).asText();
        if (!expected.equals(actual)) {
            mismatches.add(field + " of " + quote(row.get("text").asText()) + ": expected " + quote(expected)
                    + " got " + quote(actual));
        }
    }

    private static String describe(String text, int[] expected, int[] actual) {
        return quote(text) + " expected " + Arrays.toString(expected) + " got " + Arrays.toString(actual);
    }

    static String quote(String text) {
        return quote(text, 80);
    }

    static String quote(String text, int limit) {
        String shown = text.length() > limit ? text.substring(0, limit) + "..." : text;
        return "\"" + shown.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + "\"";
    }
}
