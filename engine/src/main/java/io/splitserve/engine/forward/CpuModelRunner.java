package io.splitserve.engine.forward;

import io.splitserve.model.ModelConfig;
import io.splitserve.engine.weights.ModelWeights;
import io.splitserve.kernels.cpu.CpuOps;
import io.splitserve.kernels.cpu.PagedAttention;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The whole decoder-only transformer (Llama, Qwen2, Qwen3) on the CPU ops for one ragged {@link BatchStep}: any mix
 * of prefilling prompts and decoding sequences, without padding. Each token's row is computed independently of the
 * others except inside attention, which only reads the token's own sequence, so a sequence gets bit-identical
 * logits alone or in any batch.
 *
 * <p>Per layer: {@code x → RMSNorm → q,k,v (+bias) → [q/k head norm] → RoPE → KV write → paged attention →
 * o_proj → residual add + RMSNorm → gate|up → SiLU·up → down}, then final norm and the LM head on the rows that
 * need logits.
 * KV moves in and out as fp32 ({@link KvWireType#F32}), exactly what the pages hold.
 * Work buffers are kept between steps and grow only when a step has more tokens than any before.
 */
public final class CpuModelRunner implements ModelRunner {
    private final ModelConfig config;
    private final ModelWeights weights;
    private final CpuKvCache kvCache;
    private final float[] invFreq;
    private final float attentionScale;

    private int capacity;
    private float[] x;
    private float[] residual;
    private float[] normed;
    private float[] q;
    private float[] k;
    private float[] v;
    private float[] attention;
    private float[] gateUp;
    private float[] activation;
    private float[] logitInputs;
    private float[] scores = new float[0];
    private ByteBuffer keyBytes = ByteBuffer.allocateDirect(0);
    private ByteBuffer valueBytes = ByteBuffer.allocateDirect(0);
    private FloatBuffer keyFloats = keyBytes.asFloatBuffer();
    private FloatBuffer valueFloats = valueBytes.asFloatBuffer();

    public CpuModelRunner(ModelConfig config, ModelWeights weights, CpuKvCache kvCache) {
        this.config = config;
        this.weights = weights;
        this.kvCache = kvCache;
        this.invFreq = config.ropeInvFreq();
        this.attentionScale = (float) (1.0 / Math.sqrt(config.headDim()));
        ensureCapacity(16);
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
        final int tokens = step.numTokens();
        final int vocab = config.vocabSize();
        if (logits.length < (long) step.numLogitRows() * vocab) {
            throw new IllegalArgumentException("logits buffer holds " + logits.length + " floats, the step needs "
                    + (long) step.numLogitRows() * vocab);
        }
        ensureCapacity(tokens);
        if (kvListener != null) {
            ensureKvBytes(tokens * config.kvDim());
        }
        if (scores.length < step.maxContextLen()) {
            scores = new float[step.maxContextLen()];
        }
        final int hidden = config.hiddenSize();
        final int heads = config.numHeads();
        final int kvHeads = config.numKvHeads();
        final int headDim = config.headDim();
        final int qDim = config.qDim();
        final int kvDim = config.kvDim();
        final int inter = config.intermediateSize();
        final float eps = config.rmsNormEps();

        CpuOps.embed(step.tokenIds(), tokens, weights.embedding(), hidden, x);
        System.arraycopy(x, 0, residual, 0, tokens * hidden);
        for (int l = 0; l < config.numLayers(); l++) {
            final ModelWeights.Layer w = weights.layer(l);
            if (l == 0) {
                CpuOps.rmsNorm(residual, w.inputNorm(), eps, tokens, hidden, normed);
            } else {
                CpuOps.addRmsNorm(x, residual, w.inputNorm(), eps, tokens, hidden, normed);
            }
            CpuOps.matmul(normed, tokens, hidden, w.wq(), qDim, w.bq(), q);
            CpuOps.matmul(normed, tokens, hidden, w.wk(), kvDim, w.bk(), k);
            CpuOps.matmul(normed, tokens, hidden, w.wv(), kvDim, w.bv(), v);
            if (w.qNorm() != null) {
                CpuOps.headRmsNorm(q, tokens, heads, headDim, w.qNorm(), eps);
                CpuOps.headRmsNorm(k, tokens, kvHeads, headDim, w.kNorm(), eps);
            }
            CpuOps.rope(q, tokens, heads, headDim, step.positions(), invFreq);
            CpuOps.rope(k, tokens, kvHeads, headDim, step.positions(), invFreq);
            CpuOps.writeKv(k, v, tokens, step.slotMapping(), kvCache.keys(l), kvCache.values(l), kvHeads, headDim);
            if (kvListener != null) {
                final int count = tokens * kvDim;
                keyFloats.put(0, k, 0, count);
                valueFloats.put(0, v, 0, count);
                kvListener.onLayerKv(l, keyBytes, 0, valueBytes, 0);
            }
            PagedAttention.attend(q, step.numSeqs(), step.queryStarts(), step.contextLens(), step.blockTables(),
                    step.blockTableStride(), kvCache.keys(l), kvCache.values(l), kvCache.pageSize(), heads, kvHeads,
                    headDim, attentionScale, attention, scores);
            CpuOps.matmul(attention, tokens, qDim, w.wo(), hidden, w.bo(), x);
            CpuOps.addRmsNorm(x, residual, w.postAttentionNorm(), eps, tokens, hidden, normed);
            CpuOps.matmul(normed, tokens, hidden, w.wGateUp(), 2 * inter, null, gateUp);
            CpuOps.siluMul(gateUp, tokens, inter, activation);
            CpuOps.matmul(activation, tokens, inter, w.wDown(), hidden, null, x);
        }
        CpuOps.addRmsNorm(x, residual, weights.finalNorm(), eps, tokens, hidden, normed);
        CpuOps.gatherRows(normed, step.logitRows(), step.numLogitRows(), hidden, logitInputs);
        CpuOps.matmul(logitInputs, step.numLogitRows(), hidden, weights.lmHead(), vocab, null, logits);
    }

    private void ensureKvBytes(int floats) {
        if (keyFloats.capacity() >= floats) {
            return;
        }
        keyBytes = ByteBuffer.allocateDirect(floats * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        valueBytes = ByteBuffer.allocateDirect(floats * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        keyFloats = keyBytes.asFloatBuffer();
        valueFloats = valueBytes.asFloatBuffer();
    }

    private void ensureCapacity(int tokens) {
        if (tokens <= capacity) {
            return;
        }
        capacity = Math.max(tokens, capacity * 2);
        final int hidden = config.hiddenSize();
        x = new float[capacity * hidden];
        residual = new float[capacity * hidden];
        normed = new float[capacity * hidden];
        logitInputs = new float[capacity * hidden];
        q = new float[capacity * config.qDim()];
        attention = new float[capacity * config.qDim()];
        k = new float[capacity * config.kvDim()];
        v = new float[capacity * config.kvDim()];
        gateUp = new float[capacity * 2 * config.intermediateSize()];
        activation = new float[capacity * config.intermediateSize()];
    }
}
