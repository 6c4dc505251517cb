package io.splitserve.engine.cuda;

import static io.splitserve.engine.ServedWorkload.concat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.Backend;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.ServedWorkload;
import io.splitserve.engine.ServedWorkload.Outcome;
import io.splitserve.engine.ServedWorkload.Request;
import io.splitserve.engine.kv.PrefixCacheStats;
import io.splitserve.kernels.cuda.GpuTest;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On the CUDA backend, greedy output with the prefix cache equals output without it: a repeated prompt, a resent
 * conversation, concurrent sharers, prompts ending on and just past a page boundary, chunked prefill, eviction under a
 * small pool and preemption with shared pages, with the cache hits each run must make, the rows copied on write (by
 * the page copy kernel) among them. A cached prefix is attended
 * from pages written by an earlier step while the uncached run computes it in the same prefill, and bf16 sums in
 * another order may part greedy at a near-tie, so the bar is the one every GPU serving test uses: the first 8 tokens
 * of every request exactly, and at least 75% of requests in full.
 */
@GpuTest
class PrefixCachingGpuTest {
    private static final int PAGE = 16;
    private static final int EXACT_PREFIX = 8;

    @TempDir
    static Path models;

    private static EngineOptions options() {
        return new EngineOptions().backend(Backend.CUDA).pageSize(PAGE).maxPages(512);
    }

    private static Outcome sameWithAndWithoutCache(Path dir, EngineOptions cached, EngineOptions uncached,
                                                   List<Request> requests) throws Exception {
        final Outcome with = ServedWorkload.serve(dir, cached.prefixCaching(true), requests);
        final Outcome without = ServedWorkload.serve(dir, uncached.prefixCaching(false), requests);
        assertEquals(new PrefixCacheStats(0, 0, 0, 0), without.stats(), "off caches nothing");
        int sameInFull = 0;
        for (int r = 0; r < requests.size(); r++) {
            final int exact = Math.min(EXACT_PREFIX, requests.get(r).tokens());
            assertArrayEquals(Arrays.copyOf(without.tokens()[r], exact), Arrays.copyOf(with.tokens()[r], exact),
                    "request " + r + ", first " + exact + " tokens");
            if (Arrays.equals(without.tokens()[r], with.tokens()[r])) {
                sameInFull++;
            }
        }
        assertTrue(sameInFull * 4 >= requests.size() * 3, sameInFull + " of " + requests.size() + " equal in full");
        return with;
    }

    @Test
    void repeatsConversationsSharersAndPageBoundariesGiveTheSameTokens() throws Exception {
        for (String arch : List.of("qwen2", "llama")) {
            final Path dir = RandomModels.write(arch, models.resolve(arch));
            final int[] prefix = RandomModels.tokens(1, 3 * PAGE); // 48 tokens: 3 pages
            final int[] first = RandomModels.tokens(2, 40);
            final int[] conversation = concat(first, RandomModels.tokens(3, 30)); // the first turn's prompt resent
            final Outcome outcome = sameWithAndWithoutCache(dir, options(), options(), List.of(
                    new Request(0, first, 12),
                    new Request(0, prefix, 10),
                    new Request(14, first, 12), // after the first finished: shares 2 pages, copies 7 rows of the 3rd
                    new Request(15, conversation, 10), // shares the first's 2 full pages, copies its other 8 tokens
                    new Request(16, prefix, 10), // ends on a boundary: shares 2 of its 3 pages, copies 15 rows
                    new Request(16, concat(prefix, new int[] {7}), 10), // one past: shares 3, computes 1 token
                    new Request(17, concat(prefix, RandomModels.tokens(4, 20)), 10))); // shares 3 beside the others
            assertEquals(2 * PAGE + 7 + 2 * PAGE + 8 + 3 * PAGE - 1 + 3 * PAGE + 3 * PAGE, outcome.stats().hitTokens(),
                    arch);
        }
    }

    @Test
    void chunkedPrefillEvictionAndPreemptionGiveTheSameTokens() throws Exception {
        final Path dir = RandomModels.write("qwen3", models.resolve("qwen3"));
        final int[] prefix = RandomModels.tokens(5, 2 * PAGE + 5);
        final List<Request> chunked = List.of(
                new Request(0, concat(prefix, RandomModels.tokens(6, 9)), 8),
                new Request(6, concat(prefix, RandomModels.tokens(7, 20)), 8),
                new Request(6, concat(prefix, RandomModels.tokens(8, 3)), 8));
        final Outcome chunks = sameWithAndWithoutCache(dir, options().chunkedPrefill(true).prefillTokenBudget(24),
                options().chunkedPrefill(true).prefillTokenBudget(24), chunked);
        // each shares the prefix's 2 full pages and copies its other 5 tokens from the first's 3rd page
        assertEquals(2 * (2 * PAGE + 5), chunks.stats().hitTokens());

        // 10 pages: the four sharers below grow to 5 pages each, 2 of them shared, so they do not fit at once; the
        // pages they leave cached are evicted for the later requests
        final EngineOptions small = options().maxPages(10).preemption(true);
        final EngineOptions smallUncached = options().maxPages(10).preemption(true);
        final int[] other = RandomModels.tokens(9, 2 * PAGE + 5);
        final Outcome squeezed = sameWithAndWithoutCache(dir, small, smallUncached, List.of(
                new Request(0, concat(prefix, RandomModels.tokens(10, 4)), 30),
                new Request(1, concat(prefix, RandomModels.tokens(11, 6)), 30),
                new Request(2, concat(prefix, RandomModels.tokens(12, 2)), 30),
                new Request(3, concat(prefix, RandomModels.tokens(13, 7)), 30),
                new Request(40, other, 6),
                new Request(60, concat(prefix, RandomModels.tokens(14, 4)), 6)));
        assertTrue(squeezed.preemptions() > 0, "four sharers did not fit at once");
        assertTrue(squeezed.stats().evictions() > 0, squeezed.stats().toString());
        assertTrue(squeezed.stats().hitTokens() >= 3 * 2 * PAGE, squeezed.stats().toString());
    }
}
