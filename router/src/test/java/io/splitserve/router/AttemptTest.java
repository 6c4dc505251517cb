package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.sbe.NodeRole;
import org.junit.jupiter.api.Test;

/** What an attempt holds on its nodes at each step, how it maps token indices, and how it counts against its limit. */
class AttemptTest {
    private static NodeState node(int id, NodeRole role) {
        final NodeState node = new NodeState(id);
        node.role = role;
        node.pageSize = 4;
        node.totalPages = 100;
        return node;
    }

    @Test
    void beginHoldsPromptTokensUntilPrefillEndsAndPagesUntilTheAttemptEnds() {
        final NodeState prefill = node(1, NodeRole.PREFILL);
        final NodeState decode = node(101, NodeRole.DECODE);
        final Attempt attempt = new Attempt(3);
        attempt.begin(7, prefill, decode, 10, 30, 0);
        assertTrue(attempt.prefilling());
        assertEquals(10, prefill.pendingPromptTokens);
        assertEquals(8, decode.committedPages, "30 tokens in pages of 4");
        assertTrue(attempt.dependsOn(prefill));
        attempt.endPrefill();
        attempt.endPrefill();
        assertEquals(0, prefill.pendingPromptTokens, "released once");
        assertFalse(attempt.dependsOn(prefill), "a finished prefill does not depend on its node");
        assertTrue(attempt.dependsOn(decode));
        assertEquals(8, decode.committedPages);
        attempt.end(true);
        attempt.end(true);
        assertEquals(0, decode.committedPages, "released once");
        assertFalse(attempt.running());
    }

    @Test
    void firstTokenReleasesThePromptTokensButTheAttemptDependsOnThePrefillNodeUntilPrefillDone() {
        final NodeState prefill = node(1, NodeRole.PREFILL);
        final NodeState decode = node(101, NodeRole.DECODE);
        final Attempt attempt = new Attempt(3);
        attempt.begin(7, prefill, decode, 10, 30, 0);
        attempt.firstTokenSampled();
        attempt.firstTokenSampled();
        assertFalse(attempt.prefilling());
        assertEquals(0, prefill.pendingPromptTokens, "released once");
        assertTrue(attempt.dependsOn(prefill), "its KV may still be streaming from the prefill node");
        attempt.endPrefill();
        assertEquals(0, prefill.pendingPromptTokens);
        assertFalse(attempt.dependsOn(prefill));
        assertTrue(attempt.dependsOn(decode));
    }

    @Test
    void endBeforePrefillEndsReleasesBoth() {
        final NodeState prefill = node(1, NodeRole.PREFILL);
        final NodeState decode = node(101, NodeRole.DECODE);
        prefill.pendingPromptTokens = 5; // another request's
        final Attempt attempt = new Attempt(3);
        attempt.begin(7, prefill, decode, 10, 30, 0);
        attempt.end(true);
        assertEquals(5, prefill.pendingPromptTokens);
        assertEquals(0, decode.committedPages);
        assertThrows(IllegalArgumentException.class, () -> attempt.begin(0, prefill, decode, 1, 2, 0));
    }

    @Test
    void baseMapsAttemptLocalIndicesOntoTheRequests() {
        final Attempt attempt = new Attempt(3);
        attempt.begin(9, node(1, NodeRole.PREFILL), node(101, NodeRole.DECODE), 13, 20, 3);
        assertEquals(3, attempt.requestIndex(0), "the re-prefill's first token follows the 3 delivered");
        assertEquals(5, attempt.requestIndex(2));
        assertThrows(IllegalStateException.class,
                () -> attempt.begin(10, node(2, NodeRole.PREFILL), node(102, NodeRole.DECODE), 1, 2, 0));
    }

    @Test
    void attemptsGivenBackDoNotCountAgainstTheLimit() {
        final NodeState prefill = node(1, NodeRole.PREFILL);
        final NodeState decode = node(101, NodeRole.DECODE);
        final Attempt attempt = new Attempt(2);
        for (int i = 1; i <= 5; i++) {
            attempt.begin(i, prefill, decode, 4, 8, 0);
            attempt.end(false); // preempted or no memory
            assertFalse(attempt.exhausted());
        }
        attempt.begin(6, prefill, decode, 4, 8, 0);
        attempt.end(true);
        assertFalse(attempt.exhausted());
        attempt.begin(7, prefill, decode, 4, 8, 0);
        assertTrue(attempt.exhausted());
        attempt.end(true);
        assertEquals(2, attempt.count());
        assertTrue(attempt.exhausted());
        assertThrows(IllegalArgumentException.class, () -> new Attempt(0));
    }
}
