package io.splitserve.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.kv.OutOfPagesException;
import io.splitserve.engine.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The engine pieces disaggregated serving rests on: a prefill that streams each layer's KV and a decode that adopts
 * it continue a sequence exactly as one engine would; chunked prefill changes no token; preemption frees the newest
 * sequence instead of failing the step.
 */
class DisaggregatedEngineTest {
    private static final int[] PROMPT = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
    private static final int[] SHORT = {100, 200, 300};

    private static Engine llama(EngineOptions options) throws Exception {
        return Engine.load(GoldenFixture.resource("/fixtures/llama"), options);
    }

    private static int[] generateInOneEngine(int[] prompt, SamplingParams params, int count, EngineOptions options)
            throws Exception {
        try (Engine engine = llama(options)) {
            final long id = engine.addSequence(prompt, params);
            final int[] out = new int[count];
            int n = 0;
            while (n < count) {
                for (StepOutput o : engine.step()) {
                    if (o.sequenceId() == id) {
                        out[n++] = o.token();
                    }
                }
            }
            return out;
        }
    }

    /** Prefill on one engine, copy the streamed KV into a second engine with another page size, decode there. */
    private static int[] generateDisaggregated(int[] prompt, SamplingParams params, int count) throws Exception {
        final int[] out = new int[count];
        try (Engine prefill = llama(new EngineOptions().pageSize(16)); Engine decode = llama(new EngineOptions().pageSize(3))) {
            final ImportedKv kv = decode.reserveImported(prompt.length);
            final List<Integer> layersSeen = new ArrayList<>();
            final int[] first = prefill.prefill(List.of(SHORT, prompt), List.of(params, params),
                    (p, layer, keys, keyOffset, values, valueOffset, tokens) -> {
                        if (p == 1) {
                            layersSeen.add(layer);
                            final int bytes = (int) kv.partBytes();
                            assertEquals(tokens * decode.config().kvDim() * Float.BYTES, bytes);
                            kv.bytes().put(kv.partOffset(layer, false), keys, keyOffset, bytes);
                            kv.bytes().put(kv.partOffset(layer, true), values, valueOffset, bytes);
                        }
                    });
            assertEquals(List.of(0, 1, 2, 3).subList(0, decode.config().numLayers()), layersSeen,
                    "each layer is handed over once, in order");
            assertEquals(prefill.totalPages(), prefill.freePages(), "prefill pages are borrowed only for the call");
            out[0] = first[1];
            final long id = decode.admitImported(kv, first[1], params, 1);
            for (int n = 1; n < count; n++) {
                final List<StepOutput> step = decode.step();
                assertEquals(id, step.get(0).sequenceId());
                out[n] = step.get(0).token();
            }
        }
        return out;
    }

    @Test
    void greedyPrefillThenImportedDecodeEqualsOneEngine() throws Exception {
        final int[] together = generateInOneEngine(PROMPT, SamplingParams.greedy(), 12, new EngineOptions());
        assertArrayEquals(together, generateDisaggregated(PROMPT, SamplingParams.greedy(), 12));
    }

    @Test
    void seededSamplingContinuesTheSameRandomStreamAcrossEngines() throws Exception {
        final SamplingParams params = new SamplingParams(0.9, 50, 0.95, 0, 42);
        final int[] together = generateInOneEngine(PROMPT, params, 12, new EngineOptions());
        assertArrayEquals(together, generateDisaggregated(PROMPT, params, 12));
    }

    @Test
    void chunkedPrefillGivesTheSameTokensWithinTheBudget() throws Exception {
        final int[] whole = generateInOneEngine(PROMPT, SamplingParams.greedy(), 6, new EngineOptions());
        final EngineOptions chunked = new EngineOptions().chunkedPrefill(true).prefillTokenBudget(7);
        assertArrayEquals(whole, generateInOneEngine(PROMPT, SamplingParams.greedy(), 6, chunked));
        try (Engine engine = llama(chunked)) {
            engine.addSequence(PROMPT, SamplingParams.greedy());
            assertTrue(engine.step().isEmpty(), "7 of 20 prompt tokens: no token yet");
            assertTrue(engine.step().isEmpty(), "14 of 20");
            assertEquals(1, engine.step().size(), "the last chunk samples the first token");
        }
    }

    @Test
    void preemptionFreesTheNewestSequenceAndReportsIt() throws Exception {
        try (Engine engine = llama(new EngineOptions().pageSize(4).maxPages(8).preemption(true))) {
            final long a = engine.addSequence(PROMPT, SamplingParams.greedy()); // 5 pages
            final long b = engine.addSequence(SHORT, SamplingParams.greedy()); // 1 page
            engine.step();
            assertEquals(2, engine.step().size());
            boolean preempted = false;
            for (int i = 0; i < 12 && !preempted; i++) {
                engine.step();
                final List<Long> out = engine.takePreempted();
                if (!out.isEmpty()) {
                    assertEquals(List.of(b), out, "the newest sequence goes first");
                    preempted = true;
                }
            }
            assertTrue(preempted);
            assertEquals(1, engine.sequenceCount());
            assertThrows(IllegalArgumentException.class, () -> engine.release(b), "b is already forgotten");
            engine.release(a);
            assertEquals(engine.totalPages(), engine.freePages());
        }
    }

    @Test
    void importReservationIsAllOrNothingAndReleasable() throws Exception {
        try (Engine engine = llama(new EngineOptions().pageSize(4).maxPages(4))) {
            assertNull(engine.reserveImported(17), "17 tokens need 5 pages of 4");
            assertEquals(4, engine.freePages());
            final ImportedKv kv = engine.reserveImported(16);
            assertEquals(0, engine.freePages());
            assertThrows(OutOfPagesException.class,
                    () -> engine.prefill(List.of(SHORT), List.of(SamplingParams.greedy()), (p, l, k, ko, v, vo, t) -> { }));
            engine.releaseImported(kv);
            assertEquals(4, engine.freePages());
            assertThrows(IllegalStateException.class, () -> engine.admitImported(kv, 1, SamplingParams.greedy(), 1));
        }
    }
}
