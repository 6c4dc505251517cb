package io.splitserve.engine.sampling;

import java.util.Arrays;

/**
 * The token history penalties read, for one sequence: every distinct token of its prompt and output so far, with how
 * many times it occurs in the output and whether it occurs in the prompt (vLLM's semantics: the repetition penalty
 * looks at both, frequency and presence penalties at the output only). The output is the tokens the request sampled
 * (a re-prefilled prompt ends with the tokens sampled before, and they count as output, as they did the first time).
 *
 * <p>Kept incrementally: {@link #addOutput} costs O(1) expected per sampled token and allocates only when the distinct
 * tokens outgrow the arrays. The entries, {@code [0, size())}, are what the samplers read: the CPU {@link Sampler}
 * and, packed into a step's metadata, the GPU's logit-processing kernel. Entries keep the order in which their tokens
 * first appeared; nothing depends on that order, since each entry changes its own token's logit only.
 */
public final class TokenHistory {
    private int[] tokens = new int[16];
    private int[] outputCounts = new int[16];
    private boolean[] inPrompt = new boolean[16];
    private int size;
    /** Open addressing: entry index + 1 per slot, 0 when free; the length is a power of two at least twice size. */
    private int[] slots = new int[32];

    /**
     * The history of a sequence whose tokens are {@code tokens[0, length)}, the last {@code sampled} of which (at most
     * all of them) are output and the rest prompt.
     */
    public static TokenHistory of(int[] tokens, int length, long sampled) {
        if (length < 0 || length > tokens.length || sampled < 0) {
            throw new IllegalArgumentException("a history of " + length + " of " + tokens.length + " tokens with "
                    + sampled + " sampled");
        }
        final TokenHistory history = new TokenHistory();
        final int promptLength = (int) Math.max(0, length - sampled);
        for (int i = 0; i < promptLength; i++) {
            final int entry = history.entry(tokens[i]); // first: entry() may replace the arrays
            history.inPrompt[entry] = true;
        }
        for (int i = promptLength; i < length; i++) {
            history.addOutput(tokens[i]);
        }
        return history;
    }

    /** Counts one more sampled {@code token}. */
    public void addOutput(int token) {
        final int entry = entry(token); // first: entry() may replace the arrays
        outputCounts[entry]++;
    }

    /** Distinct tokens of the prompt and the output. */
    public int size() {
        return size;
    }

    public int token(int entry) {
        return tokens[entry];
    }

    /** Times entry {@code entry}'s token occurs in the output so far (0 for a prompt-only token). */
    public int outputCount(int entry) {
        return outputCounts[entry];
    }

    public boolean inPrompt(int entry) {
        return inPrompt[entry];
    }

    /** Times {@code token} occurs in the output so far. */
    public int outputCountOf(int token) {
        final int entry = find(token);
        return entry < 0 ? 0 : outputCounts[entry];
    }

    /** Whether {@code token} occurs in the prompt. */
    public boolean inPromptOf(int token) {
        final int entry = find(token);
        return entry >= 0 && inPrompt[entry];
    }

    private int find(int token) {
        final int mask = slots.length - 1;
        for (int s = hash(token) & mask; slots[s] != 0; s = (s + 1) & mask) {
            if (tokens[slots[s] - 1] == token) {
                return slots[s] - 1;
            }
        }
        return -1;
    }

    /** The entry of {@code token}, added (no output, not in the prompt) when it has none. */
    private int entry(int token) {
        if (token < 0) {
            throw new IllegalArgumentException("token id " + token + " is negative");
        }
        final int mask = slots.length - 1;
        int s = hash(token) & mask;
        for (; slots[s] != 0; s = (s + 1) & mask) {
            if (tokens[slots[s] - 1] == token) {
                return slots[s] - 1;
            }
        }
        if (size == tokens.length) {
            tokens = Arrays.copyOf(tokens, 2 * size);
            outputCounts = Arrays.copyOf(outputCounts, 2 * size);
            inPrompt = Arrays.copyOf(inPrompt, 2 * size);
        }
        tokens[size] = token;
        slots[s] = ++size;
        if (2 * size > slots.length) {
            rehash();
        }
        return size - 1;
    }

    private void rehash() {
        slots = new int[2 * slots.length];
        final int mask = slots.length - 1;
        for (int e = 0; e < size; e++) {
            int s = hash(tokens[e]) & mask;
            while (slots[s] != 0) {
                s = (s + 1) & mask;
            }
            slots[s] = e + 1;
        }
    }

    private static int hash(int token) {
        final int h = token * 0x9e3779b9;
        return h ^ (h >>> 16);
    }
}
