package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * One node's prefix index stepped one prompt at a time (blocks of 4 tokens): whole blocks match from the start of the
 * prompt, a partial block never does, the least recently recorded prompts go first past the token budget, and
 * eviction only ever cuts the tail of a chain.
 */
class PrefixIndexTest {
    /** A prompt of whole 4-token blocks, each named by one number: block {@code b} holds b*10 .. b*10+3. */
    private static int[] blocks(int... names) {
        final int[] prompt = new int[names.length * 4];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = names[i / 4] * 10 + i % 4;
        }
        return prompt;
    }

    @Test
    void wholeBlocksOfTheLongestRecordedPrefixMatch() {
        final PrefixIndex index = new PrefixIndex(4, 1_000);
        index.record(blocks(1, 2, 3));
        assertEquals(12, index.match(blocks(1, 2, 3)));
        assertEquals(8, index.match(blocks(1, 2, 7)), "the prompts part after two blocks");
        assertEquals(0, index.match(blocks(2, 3)), "a block counts only after the same blocks before it");
        final int[] partial = {10, 11, 12, 13, 20, 21};
        assertEquals(4, index.match(partial), "the half block at the end is not shared");
        assertEquals(0, index.match(new int[] {10, 11, 12}));
        assertEquals(12, index.tokens());
    }

    @Test
    void matchingChangesNothing() {
        final PrefixIndex index = new PrefixIndex(4, 8); // two blocks
        index.record(blocks(1));
        index.record(blocks(2));
        assertEquals(4, index.match(blocks(1))); // a match is no use: 1 stays the least recent
        index.record(blocks(3));
        assertEquals(0, index.match(blocks(1)));
        assertEquals(4, index.match(blocks(2)));
    }

    @Test
    void leastRecentlyRecordedPromptsAreForgottenPastTheBudget() {
        final PrefixIndex index = new PrefixIndex(4, 8); // two blocks
        index.record(blocks(1));
        index.record(blocks(2));
        index.record(blocks(1)); // used again: 2 is now the least recent
        index.record(blocks(3));
        assertEquals(4, index.match(blocks(1)));
        assertEquals(0, index.match(blocks(2)));
        assertEquals(4, index.match(blocks(3)));
        assertEquals(8, index.tokens());
        index.record(blocks(5, 6, 7)); // longer than the budget: its first two blocks are kept
        assertEquals(8, index.match(blocks(5, 6, 7)));
        assertEquals(8, index.tokens());
    }

    @Test
    void evictionCutsTheTailOfAChainNeverItsHead() {
        final PrefixIndex index = new PrefixIndex(4, 12); // three blocks
        index.record(blocks(1, 2));
        index.record(blocks(3));
        index.record(blocks(4)); // one block too many: the chain 1-2 loses 2, not 1
        assertEquals(4, index.match(blocks(1, 2)));
        assertEquals(4, index.match(blocks(3)));
        assertEquals(4, index.match(blocks(4)));
        assertEquals(12, index.tokens());
    }

    @Test
    void clearForgetsEverythingAndForgottenBlocksAreReused() {
        final PrefixIndex index = new PrefixIndex(4, 8);
        index.record(blocks(1, 2));
        index.clear();
        assertEquals(0, index.match(blocks(1, 2)));
        assertEquals(0, index.tokens());
        index.record(blocks(3, 4));
        assertEquals(8, index.match(blocks(3, 4)));
        assertEquals(0, index.match(blocks(1, 2)));
    }

    @Test
    void badSizesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new PrefixIndex(0, 8));
        assertThrows(IllegalArgumentException.class, () -> new PrefixIndex(4, -1));
    }
}
