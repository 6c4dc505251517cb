package io.splitserve.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trainer is deterministic and its files are real tokenizers: HfEquivalenceTest checks that Hugging Face
 * encodes the corpus with them exactly as this project does ("demo" and "corpus_trained").
 */
class BpeTrainerTest {
    @Test
    void sameCorpusAndSizeGiveTheSameText() {
        String first = HfGoldens.demoTokenizerJson();
        assertEquals(first, HfGoldens.demoTokenizerJson());
        assertNotEquals(first, BpeTrainer.trainTokenizerJson(BpeTrainer.demoCorpus(), 600, BpeTrainer.DEMO_SPECIAL_TOKENS),
                "a different size gives a different vocabulary");
    }

    @Test
    void vocabularyReachesTheRequestedSizeWithSpecialTokensLast() throws TokenizerException {
        Tokenizer tokenizer = Tokenizer.fromJson(HfGoldens.demoTokenizerJson());
        assertEquals(HfGoldens.DEMO_VOCAB_SIZE, tokenizer.vocabSize());
        List<String> specials = BpeTrainer.DEMO_SPECIAL_TOKENS;
        for (int i = 0; i < specials.size(); i++) {
            int id = HfGoldens.DEMO_VOCAB_SIZE - specials.size() + i;
            assertEquals(id, tokenizer.tokenToId(specials.get(i)));
            assertTrue(tokenizer.isSpecial(id));
        }
        assertEquals(0, tokenizer.tokenToId("\u0100"), "byte 0 is token 0 (spelled U+0100 in the byte alphabet)");
        assertEquals('a', tokenizer.tokenToId("a"));
        assertTrue(tokenizer.encode("the weather today", false).length < "the weather today".length(),
                "learned merges shorten common English text");
    }

    @Test
    void everyTextRoundTrips() throws TokenizerException {
        Tokenizer tokenizer = Tokenizer.fromJson(HfGoldens.demoTokenizerJson());
        for (String text : HfGoldens.corpus()) {
            assertEquals(text, tokenizer.decode(tokenizer.encode(text, false), false));
        }
    }

    @Test
    void demoChatTemplateFormatsTurnsWithSpecialTokens() throws TokenizerException {
        String prompt = ChatTemplate.of(BpeTrainer.DEMO_CHAT_TEMPLATE, null, "<|end|>")
                .render(List.of(new ChatMessage("user", "Hi")), true);
        assertEquals("<|user|>\nHi<|end|>\n<|assistant|>\n", prompt);
        Tokenizer tokenizer = Tokenizer.fromJson(HfGoldens.demoTokenizerJson());
        int[] ids = tokenizer.encode(prompt, false);
        assertEquals(tokenizer.tokenToId("<|user|>"), ids[0]);
        assertEquals(tokenizer.tokenToId("<|assistant|>"), ids[ids.length - 2]);
    }

    @Test
    void tooSmallSizeOrDuplicateSpecialsAreRejected() {
        assertEquals("vocabSize 257 is below the 256 byte tokens plus 5 special tokens",
                assertThrows(IllegalArgumentException.class, () ->
                        BpeTrainer.trainTokenizerJson("abc", 257, BpeTrainer.DEMO_SPECIAL_TOKENS)).getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> BpeTrainer.trainTokenizerJson("abc", 300, List.of("<x>", "<x>")));
    }

    @Test
    void smallCorpusStopsWhenEveryWordIsOneToken() throws TokenizerException {
        Tokenizer tokenizer = Tokenizer.fromJson(BpeTrainer.trainTokenizerJson("abab abab", 1000, List.of()));
        assertArrayEquals(new int[] {tokenizer.tokenToId("abab"), tokenizer.tokenToId("\u0120abab")},
                tokenizer.encode("abab abab", false));
        assertTrue(tokenizer.vocabSize() < 270, "no merges beyond what the corpus holds");
    }
}
