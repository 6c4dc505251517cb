package io.splitserve.engine;

import static io.splitserve.engine.ServedWorkload.concat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.ServedWorkload.Outcome;
import io.splitserve.engine.ServedWorkload.Request;
import io.splitserve.engine.kv.PrefixCacheStats;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Greedy output with the prefix cache equals output without it, token for token, on the golden tiny models: a prompt
 * repeated after the first finished, a conversation resent with each turn, concurrent sharers of one prefix, prompts
 * ending exactly on and just past a page boundary, chunked prefill, eviction under a tiny pool, preemption with
 * shared pages, and copy on write of a finished sequence's partial last page (alone and beside concurrent sharers).
 * Each case also checks the cache's counters, so it cannot pass by never hitting; copied rows make them other than
 * whole pages.
 */
class PrefixCachingEngineTest {
    private static final int PAGE = 4;

    private static int[] span(int from, int length) {
        final int[] out = new int[length];
        for (int i = 0; i < length; i++) {
            out[i] = from + i;
        }
        return out;
    }

    private static Outcome serve(String model, EngineOptions options, List<Request> requests) throws Exception {
        return ServedWorkload.serve(GoldenFixture.resource("/fixtures/" + model), options.pageSize(PAGE), requests);
    }

    /** Serves the requests with the cache and without it, asserts equal tokens and returns the cached run. */
    private static Outcome sameWithAndWithoutCache(String model, EngineOptions options, List<Request> requests)
            throws Exception {
        final Outcome cached = serve(model, options.prefixCaching(true), requests);
        final Outcome uncached = serve(model, options.prefixCaching(false), requests);
        for (int r = 0; r < requests.size(); r++) {
            assertArrayEquals(uncached.tokens()[r], cached.tokens()[r], model + " request " + r);
        }
        assertEquals(new PrefixCacheStats(0, 0, 0, 0), uncached.stats(), "off caches nothing");
        return cached;
    }

    @Test
    void aPromptRepeatedAfterTheFirstFinishedAndAConversationResentEachTurn() throws Exception {
        final int[] prompt = span(5, 20);
        for (String model : List.of("llama", "qwen2", "qwen3")) {
            final Outcome first = serve(model, new EngineOptions(), List.of(new Request(0, prompt, 4)));
            final int[] secondTurn = concat(prompt, first.tokens()[0], span(200, 7));
            final Outcome outcome = sameWithAndWithoutCache(model, new EngineOptions(), List.of(
                    new Request(0, prompt, 4), new Request(10, prompt, 4), new Request(20, secondTurn, 5)));
            // the repeat shares (20 - 1) / 4 = 4 pages and copies 3 rows of the 5th (its last token is computed); the
            // second turn finds the 23 tokens computed in the first turn: 5 full pages shared and the 3 computed rows
            // of the partial 6th copied (the 4th token was sampled, never computed)
            assertEquals(20 + 20 + 31, outcome.stats().lookedUpTokens(), model);
            assertEquals(16 + 3 + 20 + 3, outcome.stats().hitTokens(), model);
        }
    }

    @Test
    void concurrentSharersOfOnePrefixDecodeOnTheSamePagesInOneBatch() throws Exception {
        final int[] prefix = span(40, 10);
        final Outcome outcome = sameWithAndWithoutCache("llama", new EngineOptions(), List.of(
                new Request(0, concat(prefix, span(60, 3)), 12),
                new Request(1, concat(prefix, span(70, 5)), 10),
                new Request(1, concat(prefix, span(80, 2)), 10),
                new Request(3, prefix, 8)));
        // the first's two full prefix pages are shared by the three that arrive while it decodes, and the last 2
        // prefix tokens are copied from its third page (only 1 for the bare prefix, whose last token is computed)
        assertEquals(3 * 8 + 2 + 2 + 1, outcome.stats().hitTokens());
    }

    @Test
    void promptsEndingExactlyOnAndJustPastAPageBoundaryShareALongPrefix() throws Exception {
        final int[] prefix = span(100, 3 * PAGE);
        final Outcome outcome = sameWithAndWithoutCache("qwen2", new EngineOptions(), List.of(
                new Request(0, prefix, 3),
                new Request(5, prefix, 4), // ends on a boundary: shares 2 pages, copies 3 rows of the third
                new Request(6, concat(prefix, new int[] {7}), 4), // one past: shares 3 pages, computes one token
                new Request(7, concat(prefix, span(300, PAGE - 1)), 4))); // shares 3 pages
        assertEquals(2 * PAGE + PAGE - 1 + 3 * PAGE + 3 * PAGE, outcome.stats().hitTokens());
    }

    @Test
    void chunkedPrefillStartsAfterTheCachedPagesAndTakesTheRestInChunks() throws Exception {
        final int[] prefix = span(10, 18);
        final Outcome outcome = sameWithAndWithoutCache("qwen3",
                new EngineOptions().chunkedPrefill(true).prefillTokenBudget(5), List.of(
                        new Request(0, concat(prefix, span(150, 6)), 5),
                        new Request(9, concat(prefix, span(170, 9)), 5),
                        new Request(9, concat(prefix, span(190, 2)), 5)));
        // the first's prefix pages are cached chunk by chunk: 4 full pages of the 18-token prefix are shared, and its
        // last 2 tokens copied from the first's 5th page
        assertEquals(2 * (4 * PAGE + 2), outcome.stats().hitTokens());
    }

    @Test
    void cachedPrefixesAreEvictedUnderATinyPoolAndRecomputedCorrectly() throws Exception {
        final int[] a = span(20, 22);
        final int[] b = span(120, 22);
        final Outcome outcome = sameWithAndWithoutCache("llama", new EngineOptions().maxPages(8), List.of(
                new Request(0, a, 4),
                new Request(6, b, 4), // takes the pages a's cache held
                new Request(12, a, 4), // a's prefix is gone (or mostly): computed again
                new Request(18, a, 4))); // and cached again
        assertTrue(outcome.stats().evictions() >= 5, "evictions: " + outcome.stats().evictions());
        assertTrue(outcome.stats().hitTokens() >= 5 * PAGE, "the last repeat hits: " + outcome.stats());
    }

    @Test
    void preemptionWithSharedPagesLosesNoTokenAndKeepsTheCacheTrue() throws Exception {
        final int[] prefix = span(30, 12);
        final List<Request> requests = List.of(
                new Request(0, prefix, 20),
                new Request(2, concat(prefix, span(90, 2)), 20),
                new Request(2, concat(prefix, span(95, 3)), 20),
                new Request(3, concat(prefix, span(99, 1)), 20));
        final Outcome outcome = sameWithAndWithoutCache("llama", new EngineOptions().maxPages(14).preemption(true),
                requests);
        assertTrue(outcome.preemptions() > 0, "the pool was too small for all four at once");
        assertTrue(outcome.stats().hitTokens() >= 3 * 3 * PAGE, outcome.stats().toString());
    }

    @Test
    void aFinishedSequencesPartialLastPageIsCopiedOnWriteAloneAndBesideConcurrentSharers() throws Exception {
        final int[] prompt = span(50, 9);
        for (String model : List.of("llama", "qwen3")) {
            // the first computes 9 + 2 tokens: 2 full pages and a partial third of 3 rows, cached at its release
            final int[] out = serve(model, new EngineOptions(), List.of(new Request(0, prompt, 3))).tokens()[0];
            final int[] followUp = concat(prompt, out, span(300, 2));
            final Outcome outcome = sameWithAndWithoutCache(model, new EngineOptions(), List.of(
                    new Request(0, prompt, 3),
                    new Request(5, followUp, 6), // alone: shares 2 pages, copies the partial page's 3 rows
                    // together, each copying into a page of its own in one step while sharing the same full pages
                    new Request(12, concat(prompt, out, span(320, 5)), 6), // 3 pages of the follow-up, no copy
                    new Request(12, concat(prompt, new int[] {out[0]}, span(330, 3)), 6), // 2 pages, 2 rows
                    new Request(12, followUp, 6))); // 3 pages and 1 row of the follow-up's 4th page
            assertEquals(8 + 3 + 12 + 8 + 2 + 12 + 1, outcome.stats().hitTokens(), model);
        }
    }

    @Test
    void theFirstServeOfAPromptFindsNothing() throws Exception {
        final Outcome outcome = serve("llama", new EngineOptions(), List.of(new Request(0, span(5, 9), 2)));
        // 2 full pages and, once released, the partial third (the prompt's last token and the first one sampled)
        assertEquals(new PrefixCacheStats(9, 0, 3, 0), outcome.stats());
    }
}
