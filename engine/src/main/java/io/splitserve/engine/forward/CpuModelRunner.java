package io.splitserve.engine.forward;

import io.splitserve.engine.weights.DecoderWeights;
import io.splitserve.model.ModelConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The CPU backend: runs each ragged {@link BatchStep} (any mix of prefilling prompts and decoding sequences, without
 * padding) through the {@link DecoderModel} on {@link CpuDecoderOps}, over fp32 weights and an fp32
 * {@link CpuKvCache}, after the step's page copies. A sequence gets bit-identical logits alone or in any batch. KV
 * moves in and out as fp32
 * ({@link KvWireType#F32}), exactly what the pages hold.
 */
public final class CpuModelRunner implements ModelRunner {
    private final ModelConfig config;
    private final DecoderModel<float[], float[], CpuLinear> model;
    private final CpuKvCache kvCache;
    private final CpuDecoderOps ops;

    public CpuModelRunner(ModelConfig config, DecoderWeights<float[], float[], CpuLinear> weights,
                          CpuKvCache kvCache) {
        this.config = config;
        this.model = new DecoderModel<>(weights);
        this.kvCache = kvCache;
        this.ops = new CpuDecoderOps(config, kvCache);
    }

    public ModelConfig config() {
        return config;
    }

    @Override
    public int pageCount() {
        return kvCache.pageCount();
    }

    @Override
    public String description() {
        return "cpu";
    }

    /** The heap arrays are left to the garbage collector. */
    @Override
    public void close() {
    }

    /** Any thread may drive the CPU runner, one at a time. */
    @Override
    public void bindToCurrentThread() {
    }

    @Override
    public KvWireType kvWireType() {
        return KvWireType.F32;
    }

    @Override
    public KvImportBuffer importBuffer(int tokens) {
        final long bytes = 2L * config.numLayers() * tokens * config.kvDim() * Float.BYTES;
        if (tokens <= 0 || bytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("an imported KV of " + tokens + " tokens does not fit one buffer");
        }
        final ByteBuffer buffer = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        return new KvImportBuffer() {
            @Override
            public int tokens() {
                return tokens;
            }

            @Override
            public ByteBuffer bytes() {
                return buffer;
            }

            /** Imports are done when importLayer returns, so nothing is left to wait for. */
            @Override
            public void close() {
            }
        };
    }

    /** Writes the layer into its pages before returning. */
    @Override
    public void importLayer(KvImportBuffer src, int layer, int[] slots) {
        if (layer < 0 || layer >= config.numLayers()) {
            throw new IndexOutOfBoundsException("layer " + layer + " outside " + config.numLayers() + " layers");
        }
        final int tokens = src.tokens();
        if (slots.length != tokens) {
            throw new IllegalArgumentException("import of " + tokens + " tokens got " + slots.length + " slots");
        }
        final int partBytes = tokens * config.kvDim() * Float.BYTES;
        scatter(src.bytes(), 2 * layer * partBytes, tokens, slots, kvCache.keys(layer));
        scatter(src.bytes(), (2 * layer + 1) * partBytes, tokens, slots, kvCache.values(layer));
    }

    private void scatter(ByteBuffer src, int offset, int tokens, int[] slots, float[] pool) {
        final int kvDim = config.kvDim();
        for (int t = 0; t < tokens; t++) {
            final int rowStart = offset + t * kvDim * Float.BYTES;
            final int dst = slots[t] * kvDim;
            for (int e = 0; e < kvDim; e++) {
                pool[dst + e] = src.getFloat(rowStart + e * Float.BYTES);
            }
        }
    }

    public CpuKvCache kvCache() {
        return kvCache;
    }

    /**
     * Runs the step: writes every token's K/V into its slot and {@code step.numLogitRows()} rows of
     * {@code [vocab]} logits into {@code logits}, in {@code step.logitRows()} order.
     */
    @Override
    public void forward(BatchStep step, float[] logits) {
        forward(step, logits, null);
    }

    /**
     * As {@link #forward(BatchStep, float[])}, and hands each layer's K and V of the whole step to {@code kvListener}
     * (when not null) as soon as they are written, before the next layer starts.
     */
    @Override
    public void forward(BatchStep step, float[] logits, LayerKvListener kvListener) {
        final long needed = (long) step.numLogitRows() * config.vocabSize();
        if (logits.length < needed) {
            throw new IllegalArgumentException("logits buffer holds " + logits.length + " floats, the step needs "
                    + needed);
        }
        kvCache.copyPages(step.pageCopies(), step.numPageCopies()); // before the step writes any KV
        ops.begin(step, logits, kvListener);
        try {
            model.forward(ops);
        } finally {
            ops.end();
        }
    }
}
