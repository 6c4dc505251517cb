package io.splitserve.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Streaming decode, token by token, gives exactly the full decode (itself checked against Hugging Face), and no
 * pushed piece ever ends inside a character.
 */
class IncrementalDetokenizerTest {
    static final List<String> ALL = HfGoldens.ALL;

    @ParameterizedTest(name = "{0}")
    @FieldSource("ALL")
    void streamingEqualsFullDecodeOnEveryCorpusString(String name) {
        Tokenizer tokenizer = HfGoldens.tokenizer(name);
        List<String> mismatches = new ArrayList<>();
        for (JsonNode row : HfGoldens.golden(name).get("corpus")) {
            for (String field : List.of("ids_special", "half_ids")) {
                int[] ids = HfGoldens.ids(row.get(field));
                for (boolean skip : new boolean[] {false, true}) {
                    String streamed = stream(tokenizer, ids, skip, mismatches);
                    String full = tokenizer.decode(ids, skip);
                    if (!full.equals(streamed)) {
                        mismatches.add(field + " skip=" + skip + " of " + HfEquivalenceTest.quote(row.get("text").asText())
                                + ": streamed " + HfEquivalenceTest.quote(streamed) + " decoded " + HfEquivalenceTest.quote(full));
                    }
                }
            }
        }
        assertTrue(mismatches.isEmpty(), name + ": " + mismatches.size() + " problems, first: "
                + mismatches.subList(0, Math.min(5, mismatches.size())));
    }

    /** Invalid and cut UTF-8 (as byte tokens of the demo tokenizer) decodes as HF decoded it, streamed or not. */
    @Test
    void invalidBytesBecomeReplacementCharactersAsInHf() {
        Tokenizer tokenizer = HfGoldens.tokenizer("demo");
        JsonNode cases = HfGoldens.golden("demo").get("byte_decode");
        assertTrue(cases.size() >= 10);
        for (JsonNode example : cases) {
            int[] ids = HfGoldens.ids(example.get("ids"));
            String expected = example.get("text").asText();
            assertEquals(expected, tokenizer.decode(ids, false), "decode of bytes " + example.get("ids"));
            assertEquals(expected, stream(tokenizer, ids, false, new ArrayList<>()), "stream of bytes " + example.get("ids"));
        }
    }

    @Test
    void emojiSplitAcrossTokensIsHeldUntilComplete() {
        Tokenizer tokenizer = HfGoldens.tokenizer("demo");
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, false);
        // the demo tokenizer has one token per byte for these: F0 9F 98 80 is U+1F600
        assertEquals("a", detokenizer.push('a'));
        assertEquals("", detokenizer.push(0xF0));
        assertEquals("", detokenizer.push(0x9F));
        assertEquals("", detokenizer.push(0x98));
        assertEquals("\uD83D\uDE00", detokenizer.push(0x80));
        assertEquals("", detokenizer.push(0xE4));
        assertEquals("\uFFFD", detokenizer.flush(), "a cut character at the end becomes U+FFFD, as in decode");
        assertEquals("", detokenizer.flush());
    }

    @Test
    void specialTokensAreSkippedOnRequest() {
        Tokenizer tokenizer = HfGoldens.tokenizer("qwen3");
        int imEnd = tokenizer.tokenToId("<|im_end|>");
        IncrementalDetokenizer keeping = new IncrementalDetokenizer(tokenizer, false);
        IncrementalDetokenizer skipping = new IncrementalDetokenizer(tokenizer, true);
        assertEquals("<|im_end|>", keeping.push(imEnd));
        assertEquals("", skipping.push(imEnd));
    }

    private static String stream(Tokenizer tokenizer, int[] ids, boolean skip, List<String> problems) {
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, skip);
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            String piece = detokenizer.push(id);
            if (!piece.isEmpty() && (Character.isHighSurrogate(piece.charAt(piece.length() - 1))
                    || Character.isLowSurrogate(piece.charAt(0)))) {
                problems.add("piece splits a surrogate pair: " + HfEquivalenceTest.quote(piece));
            }
            text.append(piece);
        }
        return text.append(detokenizer.flush()).toString();
    }
}
