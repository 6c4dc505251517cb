package io.splitserve.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.Backend;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.StepOutput;
import io.splitserve.engine.demo.DemoModel;
import io.splitserve.engine.forward.KvWireType;
import io.splitserve.model.SamplingParams;
import io.splitserve.kernels.cuda.Bf16;
import io.splitserve.kernels.cuda.GpuTest;
import io.splitserve.sbe.KvTransferStatus;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Disaggregation on the CUDA backend, on one GPU: a prompt prefilled by one CUDA engine, its bf16 KV streamed layer
 * by layer out of the device pages through pinned staging and over IPC into a second CUDA engine with another page
 * size (imported into its pages layer by layer as it arrives, or whole at admission), decodes like one CUDA engine
 * doing both (logits by cosine at every step, tokens wherever the top-2 margin is
 * clear). The exported rows are the CPU engine's K and V in the same {@code [tokens][kvHeads][headDim]} layout, up to
 * bf16. A CUDA prefill towards a CPU decode engine is refused as incompatible.
 */
@GpuTest
@Timeout(300)
class CudaKvStreamingGpuTest {
    private static final double MIN_COSINE = 0.999;
    private static final double SAME_KERNELS_COSINE = 0.999999;
    private static final float CLEAR_MARGIN = 0.05f;
    private static final int STEPS = 24;

    private static Path demo() throws Exception {
        return DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
    }

    private static EngineOptions cuda(int pageSize) {
        return new EngineOptions().backend(Backend.CUDA).pageSize(pageSize).maxPages(256).deviceSampling(false);
    }

    private static int[] prompt(int vocab, int length) {
        final int[] tokens = new int[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = 3 + (int) ((i * 2654435761L) % (vocab - 3));
        }
        return tokens;
    }

    /**
     * With the reference's page size the decode engine runs the very same kernels over the very same bytes, so every
     * token and logit must agree exactly; with other page sizes attention walks the context in other pieces, so
     * logits agree by cosine and tokens until a near tie.
     */
    @ParameterizedTest
    @CsvSource({"16, true", "16, false", "8, true", "5, true"})
    void streamedCudaKvDecodesLikeOneCudaEngine(int decodePageSize, boolean layerImport) throws Exception {
        final int vocab;
        final List<float[]> reference = new ArrayList<>();
        final int[] referenceTokens = new int[STEPS];
        final int[] prompt;
        try (Engine one = Engine.load(demo(), cuda(16))) {
            vocab = one.config().vocabSize();
            prompt = prompt(vocab, 300);
            final long id = one.addSequence(prompt, SamplingParams.greedy());
            for (int n = 0; n < STEPS; n++) {
                final List<StepOutput> out = one.step();
                assertEquals(id, out.get(0).sequenceId());
                referenceTokens[n] = out.get(0).token();
                final float[] logits = new float[vocab];
                one.copyLogits(0, logits);
                reference.add(logits);
            }
        }
        try (Engine prefill = Engine.load(demo(), cuda(16));
             Engine decode = Engine.load(demo(), cuda(decodePageSize))) {
            assertEquals(KvWireType.BF16, prefill.kvWireType());
            final EngineKvPageStore store = new EngineKvPageStore(decode, layerImport);
            try (IpcKvLink link = new IpcKvLink(demo(), store)) {
                final IpcKvLink.Outcome outcome = link.prefillAndSend(prefill, prompt);
                assertEquals(KvTransferStatus.OK, outcome.leaseStatus());
                assertNotNull(outcome.admitted(), "the decode node admitted the KV");
                final float[] logits = new float[vocab];
                prefill.copyLogits(0, logits);
                int token = outcome.firstToken();
                final long id = decode.admitImported(store.take(outcome.admitted()), token, SamplingParams.greedy(), 1);
                int compared = 0;
                for (int n = 0; n < STEPS; n++) {
                    if (n > 0) {
                        final List<StepOutput> out = decode.step();
                        assertEquals(id, out.get(0).sequenceId());
                        token = out.get(0).token();
                        decode.copyLogits(0, logits);
                    }
                    final double cosine = cosine(reference.get(n), logits);
                    assertTrue(cosine >= (decodePageSize == 16 ? SAME_KERNELS_COSINE : MIN_COSINE),
                            "step " + n + ": logits cosine " + cosine);
                    if (token != referenceTokens[n]) {
                        assertTrue(decodePageSize != 16, "step " + n + ": the same kernels chose another token");
                        assertTrue(margin(reference.get(n)) < CLEAR_MARGIN, "step " + n + ": token " + token
                                + " instead of " + referenceTokens[n] + " with a clear top-2 margin of "
                                + margin(reference.get(n)));
                        break; // a near tie went the other way: the two continuations differ from here on
                    }
                    compared++;
                }
                System.out.println("decode page size " + decodePageSize + (layerImport ? ", layer" : ", whole")
                        + " import: " + compared + " of " + STEPS
                        + " greedy tokens equal to one CUDA engine's");
                assertTrue(compared >= 1, "the first token, sampled where the prompt was prefilled, differs");
            }
        }
    }

    @Test
    void exportedRowsAreTheCpuEnginesKvInBf16() throws Exception {
        final List<float[]> cpuKeys = new ArrayList<>();
        final List<float[]> cudaKeys = new ArrayList<>();
        final List<float[]> cpuValues = new ArrayList<>();
        final List<float[]> cudaValues = new ArrayList<>();
        final int[][] prompts;
        try (Engine cpu = Engine.load(demo(), new EngineOptions()); Engine gpu = Engine.load(demo(), cuda(16))) {
            final int vocab = cpu.config().vocabSize();
            prompts = new int[][] {prompt(vocab, 37), prompt(vocab, 90)};
            final int kvDim = cpu.config().kvDim();
            final List<SamplingParams> greedy = List.of(SamplingParams.greedy(), SamplingParams.greedy());
            cpu.prefill(List.of(prompts), greedy, (p, layer, k, ko, v, vo, tokens) -> {
                cpuKeys.add(floats(k, ko, tokens * kvDim, KvWireType.F32));
                cpuValues.add(floats(v, vo, tokens * kvDim, KvWireType.F32));
            });
            gpu.prefill(List.of(prompts), greedy, (p, layer, k, ko, v, vo, tokens) -> {
                cudaKeys.add(floats(k, ko, tokens * kvDim, KvWireType.BF16));
                cudaValues.add(floats(v, vo, tokens * kvDim, KvWireType.BF16));
            });
            assertEquals(2 * cpu.config().numLayers(), cudaKeys.size(), "every layer of both prompts, once");
        }
        for (int i = 0; i < cpuKeys.size(); i++) {
            assertTrue(cosine(cpuKeys.get(i), cudaKeys.get(i)) >= MIN_COSINE, "K part " + i);
            assertTrue(cosine(cpuValues.get(i), cudaValues.get(i)) >= MIN_COSINE, "V part " + i);
        }
    }

    @Test
    void cudaPrefillToACpuDecodeEngineIsRefused() throws Exception {
        try (Engine prefill = Engine.load(demo(), cuda(16));
             Engine decode = Engine.load(demo(), new EngineOptions().maxPages(64))) {
            final EngineKvPageStore store = new EngineKvPageStore(decode);
            try (IpcKvLink link = new IpcKvLink(demo(), store)) {
                final IpcKvLink.Outcome outcome = link.prefillAndSend(prefill, prompt(decode.config().vocabSize(), 50));
                assertNull(outcome.admitted());
                assertEquals(KvTransferStatus.FAILED_INCOMPATIBLE, outcome.receiverFailure());
                assertEquals(KvTransferStatus.FAILED_INCOMPATIBLE, outcome.leaseStatus());
                assertEquals(decode.totalPages(), decode.freePages());
            }
        }
    }

    private static float[] floats(ByteBuffer bytes, int offset, int count, KvWireType type) {
        final float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = type == KvWireType.F32 ? bytes.getFloat(offset + 4 * i) : Bf16.toFloat(bytes.getShort(offset + 2 * i));
        }
        return out;
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    /** Top-1 minus top-2 logit. */
    private static float margin(float[] logits) {
        float first = Float.NEGATIVE_INFINITY;
        float second = Float.NEGATIVE_INFINITY;
        for (float x : logits) {
            if (x > first) {
                second = first;
                first = x;
            } else if (x > second) {
                second = x;
            }
        }
        return first - second;
    }
}
