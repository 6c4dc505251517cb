package io.splitserve.engine;

import io.splitserve.engine.kv.BlockTable;
import io.splitserve.model.SamplingParams;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One request inside the engine: its tokens so far (prompt, then sampled ones), how many of them already have K/V
 * in the cache, its pages and its own random generator. Invariant: {@code computed < length} while it waits for a
 * step, and a running sequence has exactly one uncomputed token, the last one sampled.
 */
final class Sequence {
    final long id;
    final SamplingParams params;
    final SplittableRandom random;
    final BlockTable table = new BlockTable();
    int[] tokens;
    int length;
    int computed;

    Sequence(long id, int[] prompt, SamplingParams params, SplittableRandom random) {
        this.id = id;
        this.params = params;
        this.random = random;
        this.tokens = Arrays.copyOf(prompt, Math.max(16, prompt.length * 2));
        this.length = prompt.length;
    }

    /**
     * A sequence whose first {@code computed} tokens already have K/V in {@code table}'s pages (computed elsewhere)
     * and whose next token to compute is {@code lastToken}. The ids of the computed tokens are never read again, so
     * they are not kept.
     */
    Sequence(long id, int computed, int lastToken, SamplingParams params, SplittableRandom random) {
        this.id = id;
        this.params = params;
        this.random = random;
        this.tokens = new int[Math.max(16, (computed + 1) * 2)];
        this.tokens[computed] = lastToken;
        this.length = computed + 1;
        this.computed = computed;
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
    }
}
