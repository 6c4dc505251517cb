package io.splitserve.perf.load;

import io.splitserve.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Builds prompt texts that encode to an exact number of tokens under the served model's tokenizer, so a workload's
 * prompt lengths are the lengths the server sees. Prompts are random sequences of the vocabulary's whole-word tokens
 * (a space followed by letters, encoding to one token on their own), drawn from the caller's seeded source, so two
 * prompts share no long prefix and no cache can shortcut them. Every prompt is checked by encoding it.
 */
public final class PromptFactory {
    private static final int MIN_WORDS = 16;

    private final Tokenizer tokenizer;
    private final String[] words;
    private final int specialTokens;

    public PromptFactory(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        final List<String> found = new ArrayList<>();
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            final String spelling = tokenizer.idToToken(id);
            if (spelling == null || spelling.length() < 3 || spelling.charAt(0) != '\u0120'
                    || !spelling.substring(1).chars().allMatch(c -> c >= 'a' && c <= 'z')) {
                continue;
            }
            final String word = " " + spelling.substring(1);
            final int[] ids = tokenizer.encode(word, false);
            if (ids.length == 1 && ids[0] == id) {
                found.add(word);
            }
        }
        if (found.size() < MIN_WORDS) {
            throw new IllegalArgumentException("the tokenizer has only " + found.size()
                    + " whole-word tokens; cannot build prompts of exact lengths");
        }
        this.words = found.toArray(String[]::new);
        this.specialTokens = tokenizer.encode(words[0], true).length - 1;
    }

    /** A prompt of exactly {@code tokens} tokens (special tokens included) drawn from {@code random}. */
    public String prompt(int tokens, SplittableRandom random) {
        if (tokens <= specialTokens) {
            throw new IllegalArgumentException("a prompt needs more than " + specialTokens + " tokens, got " + tokens);
        }
        final StringBuilder text = new StringBuilder(tokens * 6);
        final List<Integer> ends = new ArrayList<>(tokens);
        for (int i = 0; i < tokens - specialTokens; i++) {
            text.append(words[random.nextInt(words.length)]);
            ends.add(text.length());
        }
        // word tokens are separate pre-tokenizer pieces, so the count is exact; the check guards odd tokenizers
        int count = tokenizer.encode(text.toString(), true).length;
        while (count != tokens) {
            if (count < tokens) {
                text.append(words[random.nextInt(words.length)]);
                ends.add(text.length());
            } else if (ends.size() > 1) {
                ends.remove(ends.size() - 1);
                text.setLength(ends.get(ends.size() - 1));
            } else {
                throw new IllegalStateException("cannot build a prompt of " + tokens + " tokens with this tokenizer");
            }
            count = tokenizer.encode(text.toString(), true).length;
        }
        return text.toString();
    }

    /**
     * {@code count} whole-word tokens of text drawn from {@code random}, with no special tokens: a piece to join with
     * others (each word is a pre-tokenizer piece of its own, so joined pieces encode to the sum of their words).
     */
    public String words(int count, SplittableRandom random) {
        final StringBuilder text = new StringBuilder(count * 6);
        for (int i = 0; i < count; i++) {
            text.append(words[random.nextInt(words.length)]);
        }
        return text.toString();
    }

    /** The tokens {@code prompt} encodes to, special tokens included (as the router counts them). */
    public int tokens(String prompt) {
        return tokenizer.encode(prompt, true).length;
    }

    /** Whole-word tokens available to prompts. */
    public int vocabularyWords() {
        return words.length;
    }
}
