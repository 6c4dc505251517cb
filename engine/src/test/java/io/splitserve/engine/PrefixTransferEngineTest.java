package io.splitserve.engine;

import static io.splitserve.engine.ServedWorkload.concat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.model.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The engine half of sending only the KV a decode engine lacks: a prefill that takes a prompt's leading pages from its
 * own prefix cache computes and hands over only the rest, and a decode engine that shares its own cached pages for those
 * leading tokens imports only the rest, yet decodes exactly what one engine without any cache decodes, alone and
 * batched. When the decode engine no longer holds the prefix it says so before taking anything.
 */
class PrefixTransferEngineTest {
    private static final int PAGE = 4;
    private static final int[] TURN_ONE = span(5, 21);
    private static final int[] OTHER = {100, 200, 300};
    private static final SamplingParams GREEDY = SamplingParams.greedy();

    private static int[] span(int from, int length) {
        final int[] out = new int[length];
        for (int i = 0; i < length; i++) {
            out[i] = from + i;
        }
        return out;
    }

    private static Engine llama(boolean prefixCaching, int pages) throws Exception {
        final EngineOptions options = new EngineOptions().pageSize(PAGE).prefixCaching(prefixCaching);
        return Engine.load(GoldenFixture.resource("/fixtures/llama"), pages > 0 ? options.maxPages(pages) : options);
    }

    private static int[] alone(int[] prompt, int count) throws Exception {
        try (Engine engine = llama(false, 0)) {
            final long id = engine.addSequence(prompt, GREEDY);
            final int[] out = new int[count];
            for (int n = 0; n < count; ) {
                for (StepOutput o : engine.step()) {
                    if (o.sequenceId() == id) {
                        out[n++] = o.token();
                    }
                }
            }
            return out;
        }
    }

    /**
     * Prefills {@code prompts} on {@code prefill} taking {@code cached[i]} tokens of each from its cache, writes prompt
     * {@code target}'s handed-over rows into {@code kv} and admits it on {@code decode}; decodes {@code count} tokens.
     */
    private static int[] transferAndDecode(Engine prefill, Engine decode, List<int[]> prompts, int[] cached, int target,
                                           ImportedKv kv, int count) {
        final List<SamplingParams> params = new ArrayList<>();
        prompts.forEach(p -> params.add(GREEDY));
        final int[] rows = new int[prompts.size()];
        final int[] first = prefill.prefill(prompts, params, new int[prompts.size()], cached,
                (p, layer, keys, keyOffset, values, valueOffset, tokens) -> {
                    rows[p] = tokens;
                    if (p == target) {
                        final int bytes = (int) kv.partBytes();
                        assertEquals(tokens * decode.config().kvDim() * Float.BYTES, bytes, "rows handed over");
                        kv.bytes().put(kv.partOffset(layer, false), keys, keyOffset, bytes);
                        kv.bytes().put(kv.partOffset(layer, true), values, valueOffset, bytes);
                    }
                }, FirstTokenListener.NONE);
        for (int i = 0; i < prompts.size(); i++) {
            assertEquals(prompts.get(i).length - cached[i], rows[i], "prompt " + i + " hands over what it computed");
        }
        final int[] out = new int[count];
        out[0] = first[target];
        final long id = decode.admitImported(kv, out[0], GREEDY, 1);
        for (int n = 1; n < count; n++) {
            final List<StepOutput> step = decode.step();
            assertEquals(id, step.get(0).sequenceId());
            out[n] = step.get(0).token();
        }
        decode.release(id);
        return out;
    }

    private static void assertAccounted(Engine engine) {
        assertTrue(engine.freePages() <= engine.totalPages());
        assertEquals(0, engine.sequenceCount());
        assertEquals(engine.totalPages(), engine.freePages(), "every page is free or idle in the cache");
    }

    @Test
    void aSecondTurnCrossesWithOnlyWhatTheDecodeEngineLacksAndDecodesAsOneEngineWould() throws Exception {
        for (boolean batched : new boolean[] {false, true}) {
            try (Engine prefill = llama(true, 0); Engine decode = llama(true, 0)) {
                final ImportedKv full = decode.reserveImported(TURN_ONE.length, TURN_ONE, 0);
                final int[] turnOne = transferAndDecode(prefill, decode, List.of(TURN_ONE), new int[1], 0, full, 6);
                assertArrayEquals(alone(TURN_ONE, 6), turnOne, "turn one, whole transfer");

                final int[] turnTwo = concat(TURN_ONE, turnOne, span(300, 6));
                // the decode engine computed KV for the prompt and 5 decoded tokens: 26 tokens, 6 whole pages
                final int decodeHolds = decode.cachedPrefixTokens(turnTwo, turnTwo.length);
                assertEquals(24, decodeHolds);
                // the prefill engine computed only the prompt: 5 whole pages, which the decode engine holds too
                final int reuse = prefill.cachedPrefixTokens(turnTwo, decodeHolds);
                assertEquals(20, reuse);
                final long hitsBefore = decode.prefixCacheStats().hitTokens();
                final ImportedKv rest = decode.reserveImported(turnTwo.length, turnTwo, reuse);
                assertEquals(turnTwo.length - reuse, rest.importedTokens());
                final List<int[]> prompts = batched ? List.of(OTHER, turnTwo) : List.of(turnTwo);
                final int[] cached = batched ? new int[] {0, reuse} : new int[] {reuse};
                final int[] out = transferAndDecode(prefill, decode, prompts, cached, prompts.size() - 1, rest, 6);
                assertArrayEquals(alone(turnTwo, 6), out, "turn two from cached pages on both sides, batched "
                        + batched);
                assertEquals(reuse, decode.prefixCacheStats().hitTokens() - hitsBefore, "the decode engine shared them");
                assertAccounted(prefill);
                assertAccounted(decode);
            }
        }
    }

    /**
     * A decode engine whose pool was taken by other work since it cached the prefix no longer holds it: asked for it,
     * it reports fewer tokens, and a reservation that counts on the old length is refused with an error that names
     * the missing prefix, taking no page.
     */
    @Test
    void aDecodeEngineThatEvictedThePrefixSaysSoAndTakesNothing() throws Exception {
        try (Engine prefill = llama(true, 0); Engine decode = llama(true, 8)) {
            final ImportedKv full = decode.reserveImported(TURN_ONE.length, TURN_ONE, 0);
            transferAndDecode(prefill, decode, List.of(TURN_ONE), new int[1], 0, full, 2);
            assertEquals(20, decode.cachedPrefixTokens(TURN_ONE, TURN_ONE.length));

            final long other = decode.addSequence(span(250, 29), GREEDY); // 8 pages: every idle cached one is evicted
            decode.step();
            decode.release(other);
            assertEquals(0, decode.cachedPrefixTokens(TURN_ONE, TURN_ONE.length));
            final int free = decode.freePages();
            final IllegalStateException refused = assertThrows(IllegalStateException.class,
                    () -> decode.reserveImported(TURN_ONE.length, TURN_ONE, 20));
            assertTrue(refused.getMessage().contains("does not hold the first 20 tokens"), refused.getMessage());
            assertEquals(free, decode.freePages(), "nothing was taken");
        }
    }

    /** With prefix caching off nothing is ever cached, and asking a prefill to take cached tokens is an error. */
    @Test
    void withPrefixCachingOffNothingIsCachedOrTaken() throws Exception {
        try (Engine prefill = llama(false, 0)) {
            prefill.prefill(List.of(TURN_ONE), List.of(GREEDY), new int[1], (p, l, k, ko, v, vo, t) -> { });
            assertEquals(0, prefill.cachedPrefixTokens(TURN_ONE, TURN_ONE.length));
            assertThrows(IllegalStateException.class, () -> prefill.prefill(List.of(TURN_ONE), List.of(GREEDY),
                    new int[1], new int[] {4}, (p, l, k, ko, v, vo, t) -> { }, FirstTokenListener.NONE));
            assertEquals(prefill.totalPages(), prefill.freePages());
        }
    }
}
