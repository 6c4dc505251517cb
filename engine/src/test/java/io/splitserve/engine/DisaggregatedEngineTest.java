package io.splitserve.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.kv.OutOfPagesException;
import io.splitserve.model.SamplingParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The engine pieces disaggregated serving rests on: a prefill that streams each layer's KV and a decode that adopts
 * it, whether it imports the layers as they arrive, out of order, in part or all at admission, continue a sequence
 * exactly as one engine would; a released import leaves nothing behind; chunked prefill changes no token; preemption frees the newest
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

    /** How the decode engine takes streamed KV into its pages. */
    private enum Import {
        /** Every layer at admission. */
        WHOLE_AT_ADMISSION,
        /** Each layer as soon as the prefill hands it over. */
        EACH_LAYER_AS_IT_ARRIVES,
        /** Every layer after the prefill, last layer first. */
        LAYERS_OUT_OF_ORDER,
        /** Only the last layer early; admission imports the rest. */
        SOME_LAYERS_EARLY
    }

    /**
     * Prefills {@code prompt} (batched behind another prompt) on {@code prefill} and writes its streamed KV into
     * {@code kv}, importing layers as {@code how} says; returns the prompt's first token.
     */
    private static int streamInto(Engine prefill, Engine decode, ImportedKv kv, int[] prompt, SamplingParams params,
                                  Import how) {
        final List<Integer> layersSeen = new ArrayList<>();
        final int[] first = prefill.prefill(List.of(SHORT, prompt), List.of(params, params),
                (p, layer, keys, keyOffset, values, valueOffset, tokens) -> {
                    if (p == 1) {
                        layersSeen.add(layer);
                        final int bytes = (int) kv.partBytes();
                        assertEquals(tokens * decode.config().kvDim() * Float.BYTES, bytes);
                        kv.bytes().put(kv.partOffset(layer, false), keys, keyOffset, bytes);
                        kv.bytes().put(kv.partOffset(layer, true), values, valueOffset, bytes);
                        if (how == Import.EACH_LAYER_AS_IT_ARRIVES) {
                            decode.importLayer(kv, layer);
                        }
                    }
                });
        final int layers = decode.config().numLayers();
        assertEquals(List.of(0, 1, 2, 3).subList(0, layers), layersSeen, "each layer is handed over once, in order");
        if (how == Import.LAYERS_OUT_OF_ORDER) {
            for (int layer = layers - 1; layer >= 0; layer--) {
                decode.importLayer(kv, layer);
            }
        } else if (how == Import.SOME_LAYERS_EARLY) {
            decode.importLayer(kv, layers - 1);
        }
        return first[1];
    }

    /** Prefill on one engine, copy the streamed KV into a second engine with another page size, decode there. */
    private static int[] generateDisaggregated(int[] prompt, SamplingParams params, int count, Import how)
            throws Exception {
        final int[] out = new int[count];
        try (Engine prefill = llama(new EngineOptions().pageSize(16)); Engine decode = llama(new EngineOptions().pageSize(3))) {
            final ImportedKv kv = decode.reserveImported(prompt.length);
            out[0] = streamInto(prefill, decode, kv, prompt, params, how);
            assertEquals(prefill.totalPages(), prefill.freePages(), "prefill pages are borrowed only for the call");
            final long id = decode.admitImported(kv, out[0], params, 1);
            for (int n = 1; n < count; n++) {
                final List<StepOutput> step = decode.step();
                assertEquals(id, step.get(0).sequenceId());
                out[n] = step.get(0).token();
            }
        }
        return out;
    }

    /**
     * Imported KV whose token ids came with it joins the decode engine's prefix cache at admission: the same prompt
     * added there afterwards finds its whole pages cached and decodes the same tokens; without the ids nothing is
     * cached.
     */
    @Test
    void importedKvWithItsTokenIdsIsCachedAtAdmission() throws Exception {
        for (boolean withIds : new boolean[] {true, false}) {
            try (Engine prefill = llama(new EngineOptions().pageSize(16));
                 Engine decode = llama(new EngineOptions().pageSize(3))) {
                final ImportedKv kv = withIds ? decode.reserveImported(PROMPT.length, PROMPT)
                        : decode.reserveImported(PROMPT.length);
                final int first = streamInto(prefill, decode, kv, PROMPT, SamplingParams.greedy(),
                        Import.EACH_LAYER_AS_IT_ARRIVES);
                final long imported = decode.admitImported(kv, first, SamplingParams.greedy(), 1);
                final int[] importedTokens = new int[6];
                importedTokens[0] = first;
                for (int n = 1; n < importedTokens.length; n++) {
                    importedTokens[n] = decode.step().get(0).token();
                }
                decode.release(imported);
                final long hitsBefore = decode.prefixCacheStats().hitTokens();
                final long again = decode.addSequence(PROMPT, SamplingParams.greedy());
                final int[] again6 = new int[6];
                for (int n = 0; n < again6.length; n++) {
                    final List<StepOutput> step = decode.step();
                    assertEquals(again, step.get(0).sequenceId());
                    again6[n] = step.get(0).token();
                }
                final long hits = decode.prefixCacheStats().hitTokens() - hitsBefore;
                if (withIds) {
                    assertEquals(PROMPT.length - 1, hits, "every token before the last: whole pages shared, the rest"
                            + " copied from the page that continues them");
                } else {
                    assertEquals(0, hits, "KV without its token ids is not cached");
                }
                assertArrayEquals(importedTokens, again6, "the cached KV decodes as the imported one did");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Import.class)
    void greedyPrefillThenImportedDecodeEqualsOneEngine(Import how) throws Exception {
        final int[] together = generateInOneEngine(PROMPT, SamplingParams.greedy(), 12, new EngineOptions());
        assertArrayEquals(together, generateDisaggregated(PROMPT, SamplingParams.greedy(), 12, how));
    }

    /**
     * The decode node's way: while the engine steps a running sequence, a task run during each step reserves an
     * import, fills it and imports one layer per step; then the sequence is admitted. Both sequences decode exactly as
     * they would alone in one engine, and the task ran once per step.
     */
    @Test
    void kvImportedByATaskRunDuringStepsDecodesLikeOneEngine() throws Exception {
        final int[] promptAlone = generateInOneEngine(PROMPT, SamplingParams.greedy(), 8, new EngineOptions());
        final int[] shortAlone = generateInOneEngine(SHORT, SamplingParams.greedy(), 40, new EngineOptions());
        try (Engine prefill = llama(new EngineOptions().pageSize(16)); Engine decode = llama(new EngineOptions().pageSize(3))) {
            final List<byte[][]> layers = new ArrayList<>();
            final int first = prefill.prefill(List.of(PROMPT), List.of(SamplingParams.greedy()),
                    (p, layer, keys, keyOffset, values, valueOffset, tokens) -> {
                        final int bytes = tokens * decode.config().kvDim() * Float.BYTES;
                        final byte[] k = new byte[bytes];
                        final byte[] v = new byte[bytes];
                        keys.get(keyOffset, k);
                        values.get(valueOffset, v);
                        layers.add(new byte[][] {k, v});
                    })[0];
            final long shortId = decode.addSequence(SHORT, SamplingParams.greedy());
            final ImportedKv[] kv = new ImportedKv[1];
            final int[] tasks = new int[1];
            final List<Integer> shortTokens = new ArrayList<>();
            for (int n = 0; n < layers.size() + 1; n++) {
                final int layer = n - 1;
                final List<StepOutput> out = decode.step(() -> {
                    tasks[0]++;
                    if (kv[0] == null) {
                        kv[0] = decode.reserveImported(PROMPT.length);
                        return;
                    }
                    kv[0].bytes().put(kv[0].partOffset(layer, false), layers.get(layer)[0]);
                    kv[0].bytes().put(kv[0].partOffset(layer, true), layers.get(layer)[1]);
                    decode.importLayer(kv[0], layer);
                });
                assertEquals(List.of(shortId), out.stream().map(StepOutput::sequenceId).toList());
                shortTokens.add(out.get(0).token());
            }
            assertEquals(layers.size() + 1, tasks[0], "the task runs once per step");
            final long id = decode.admitImported(kv[0], first, SamplingParams.greedy(), 1);
            final int[] promptTokens = new int[8];
            promptTokens[0] = first;
            for (int n = 1; n < 8; n++) {
                final List<StepOutput> out = decode.step(null);
                shortTokens.add(out.get(0).token());
                assertEquals(id, out.get(1).sequenceId());
                promptTokens[n] = out.get(1).token();
            }
            assertArrayEquals(promptAlone, promptTokens);
            assertArrayEquals(Arrays.copyOf(shortAlone, shortTokens.size()),
                    shortTokens.stream().mapToInt(Integer::intValue).toArray());
        }
    }

    @Test
    void seededSamplingContinuesTheSameRandomStreamAcrossEngines() throws Exception {
        final SamplingParams params = new SamplingParams(0.9, 50, 0.95, 0, 42);
        final int[] together = generateInOneEngine(PROMPT, params, 12, new EngineOptions());
        assertArrayEquals(together, generateDisaggregated(PROMPT, params, 12, Import.EACH_LAYER_AS_IT_ARRIVES));
    }

    /**
     * A generation cut after 5 tokens and prefilled again from its prompt plus those tokens (as after a preemption),
     * on another engine with the 5 tokens counted as sampled before, continues the same random stream: both the
     * re-prefill's first token and the decode steps after it.
     */
    @Test
    void aReprefilledContinuationSamplesWhatOneEngineWould() throws Exception {
        final SamplingParams params = new SamplingParams(1.1, 0, 0.97, 0.01, 7);
        final int[] together = generateInOneEngine(PROMPT, params, 12, new EngineOptions());
        final int delivered = 5;
        final int[] resumed = Arrays.copyOf(PROMPT, PROMPT.length + delivered);
        System.arraycopy(together, 0, resumed, PROMPT.length, delivered);
        try (Engine engine = llama(new EngineOptions().pageSize(4))) {
            final long id = engine.addSequence(resumed, params, delivered);
            for (int n = delivered; n < together.length; n++) {
                final List<StepOutput> step = engine.step();
                assertEquals(id, step.get(0).sequenceId());
                assertEquals(together[n], step.get(0).token(), "token " + n + " of " + Arrays.toString(together));
            }
        }
        final int[] resumedFirst;
        try (Engine prefill = llama(new EngineOptions())) {
            resumedFirst = prefill.prefill(List.of(resumed), List.of(params), new int[] {delivered},
                    (sequence, layer, keys, keyOffset, values, valueOffset, tokens) -> { });
        }
        assertEquals(together[delivered], resumedFirst[0], "a prefill node's first token of the resumed request");
    }

    @Test
    void aLayerRewrittenAfterItsImportIsImportedAgainAtAdmission() throws Exception {
        final int[] together = generateInOneEngine(PROMPT, SamplingParams.greedy(), 8, new EngineOptions());
        final int[] out = new int[together.length];
        try (Engine prefill = llama(new EngineOptions()); Engine decode = llama(new EngineOptions().pageSize(3))) {
            final ImportedKv kv = decode.reserveImported(PROMPT.length);
            final byte[] truth = new byte[kv.bytes().capacity()];
            out[0] = streamInto(prefill, decode, kv, PROMPT, SamplingParams.greedy(), Import.WHOLE_AT_ADMISSION);
            kv.bytes().get(0, truth);
            final int layer0 = kv.partOffset(0, false);
            for (int i = 0; i < 2 * kv.partBytes(); i++) {
                kv.bytes().put(layer0 + i, (byte) 0x41); // layer 0 full of wrong bytes when it is imported
            }
            decode.importLayer(kv, 0);
            kv.bytes().put(0, truth); // the right bytes arrive again afterwards
            kv.layerRewritten(0);
            final long id = decode.admitImported(kv, out[0], SamplingParams.greedy(), 1);
            for (int n = 1; n < out.length; n++) {
                final List<StepOutput> step = decode.step();
                assertEquals(id, step.get(0).sequenceId());
                out[n] = step.get(0).token();
            }
        }
        assertArrayEquals(together, out);
    }

    @Test
    void releaseAfterSomeLayersWereImportedFreesThePagesForACorrectNextSequence() throws Exception {
        final int[] together = generateInOneEngine(PROMPT, SamplingParams.greedy(), 8, new EngineOptions());
        final int[] other = {300, 1, 299, 2, 298, 3, 297, 4, 296, 5, 295, 6, 294, 7, 293, 8, 292, 9, 291, 10};
        try (Engine prefill = llama(new EngineOptions());
             Engine decode = llama(new EngineOptions().pageSize(4).maxPages(7))) {
            final ImportedKv abandoned = decode.reserveImported(other.length);
            streamInto(prefill, decode, abandoned, other, SamplingParams.greedy(), Import.SOME_LAYERS_EARLY);
            decode.releaseImported(abandoned);
            assertEquals(decode.totalPages(), decode.freePages());
            assertThrows(IllegalStateException.class, () -> decode.importLayer(abandoned, 0));

            // released pages are handed out first, so the prompt is prefilled on the abandoned import's pages
            final long id = decode.addSequence(PROMPT, SamplingParams.greedy());
            final int[] out = new int[together.length];
            for (int n = 0; n < out.length; n++) {
                final List<StepOutput> step = decode.step();
                assertEquals(id, step.get(0).sequenceId());
                out[n] = step.get(0).token();
            }
            assertArrayEquals(together, out);
        }
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
