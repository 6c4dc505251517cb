package io.splitserve.engine.forward;

import io.splitserve.kernels.cpu.CpuOps;
import io.splitserve.kernels.cpu.PagedAttention;
import io.splitserve.model.ModelConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * {@link DecoderOps} over the CPU reference ops ({@link CpuOps}, {@link PagedAttention}) for one ragged
 * {@link BatchStep} at a time: each slot is an fp32 array of {@code [tokens][width]}, Q, K and V are read in place
 * from the fused QKV rows, and the logits go straight into the caller's array. Each token's row is computed
 * independently of the others except inside attention, which only reads the token's own sequence, so a sequence
 * gets bit-identical logits alone or in any batch. With a {@link LayerKvListener} each layer's K and V rows of the
 * step are copied out as fp32 right after the KV write.
 *
 * <p>Work arrays are kept between steps and grow only when a step has more tokens than any before.
 */
final class CpuDecoderOps implements DecoderOps<float[], float[], CpuLinear> {
    private final ModelConfig config;
    private final CpuKvCache kvCache;
    private final float[] invFreq;
    private final float attentionScale;
    private final int qkvDim;
    private final float[][] slots = new float[Act.values().length][];

    private int capacity;
    private float[] logitInputs;
    private float[] scores = new float[0];
    private ByteBuffer keyBytes = ByteBuffer.allocateDirect(0);
    private ByteBuffer valueBytes = ByteBuffer.allocateDirect(0);
    private FloatBuffer keyFloats = keyBytes.asFloatBuffer();
    private FloatBuffer valueFloats = valueBytes.asFloatBuffer();

    private BatchStep step;
    private int tokens;
    private float[] logits;
    private LayerKvListener kvListener;

    CpuDecoderOps(ModelConfig config, CpuKvCache kvCache) {
        this.config = config;
        this.kvCache = kvCache;
        this.invFreq = config.ropeInvFreq();
        this.attentionScale = config.attentionScale();
        this.qkvDim = config.qDim() + 2 * config.kvDim();
        ensureCapacity(16);
    }

    /** Prepares the ops for {@code step}: logits go into {@code logits}, each layer's KV to {@code kvListener}. */
    void begin(BatchStep step, float[] logits, LayerKvListener kvListener) {
        this.step = step;
        this.tokens = step.numTokens();
        this.logits = logits;
        this.kvListener = kvListener;
        ensureCapacity(tokens);
        if (kvListener != null) {
            ensureKvBytes(tokens * config.kvDim());
        }
        if (scores.length < step.maxContextLen()) {
            scores = new float[step.maxContextLen()];
        }
    }

    /** Forgets the step's references once it ran. */
    void end() {
        step = null;
        logits = null;
        kvListener = null;
    }

    @Override
    public void embed(Act out, float[] table) {
        CpuOps.embed(step.tokenIds(), tokens, table, config.hiddenSize(), slot(out));
    }

    @Override
    public void rmsNorm(Act out, Act in, float[] weight) {
        CpuOps.rmsNorm(slot(in), weight, config.rmsNormEps(), tokens, config.hiddenSize(), slot(out));
    }

    @Override
    public void addRmsNorm(Act out, Act residual, Act x, float[] weight) {
        CpuOps.addRmsNorm(slot(x), slot(residual), weight, config.rmsNormEps(), tokens, config.hiddenSize(),
                slot(out));
    }

    @Override
    public void linear(Act out, Act in, CpuLinear linear) {
        linear.apply(slot(in), tokens, slot(out));
    }

    @Override
    public void qkNorm(Act qkv, float[] q, float[] k) {
        final float[] rows = slot(qkv);
        final int headDim = config.headDim();
        CpuOps.headRmsNorm(rows, 0, qkvDim, tokens, config.numHeads(), headDim, q, config.rmsNormEps());
        CpuOps.headRmsNorm(rows, config.qDim(), qkvDim, tokens, config.numKvHeads(), headDim, k, config.rmsNormEps());
    }

    /** RoPE on Q and K of the rows, then the rotated K and V into the pages: the K rows stay rotated for the listener. */
    @Override
    public void ropeAndWriteKv(int layer, Act qkv) {
        final float[] rows = slot(qkv);
        final int headDim = config.headDim();
        CpuOps.rope(rows, 0, qkvDim, tokens, config.numHeads(), headDim, step.positions(), invFreq);
        CpuOps.rope(rows, config.qDim(), qkvDim, tokens, config.numKvHeads(), headDim, step.positions(), invFreq);
        CpuOps.writeKv(rows, config.qDim(), config.qDim() + config.kvDim(), qkvDim, tokens, step.slotMapping(),
                kvCache.keys(layer), kvCache.values(layer), config.numKvHeads(), headDim);
    }

    /** Copies the step's K and V rows of {@code layer} out of the QKV rows and hands them to the listener. */
    @Override
    public void kvWritten(int layer) {
        if (kvListener == null) {
            return;
        }
        final float[] qkv = slot(Act.QKV);
        final int kvDim = config.kvDim();
        final int kOffset = config.qDim();
        for (int t = 0; t < tokens; t++) {
            keyFloats.put(t * kvDim, qkv, t * qkvDim + kOffset, kvDim);
            valueFloats.put(t * kvDim, qkv, t * qkvDim + kOffset + kvDim, kvDim);
        }
        kvListener.onLayerKv(layer, keyBytes, 0, valueBytes, 0);
    }

    @Override
    public void attention(int layer, Act out, Act qkv) {
        PagedAttention.attend(slot(qkv), qkvDim, step.numSeqs(), step.queryStarts(), step.contextLens(),
                step.blockTables(), step.blockTableStride(), kvCache.keys(layer), kvCache.values(layer),
                kvCache.pageSize(), config.numHeads(), config.numKvHeads(), config.headDim(), attentionScale,
                slot(out), scores);
    }

    /** Composed: the gate|up projection into the {@link Act#GATE_UP} slot, then SiLU-and-mul. */
    @Override
    public void gateUpSiluMul(Act out, Act in, CpuLinear gateUp) {
        gateUp.apply(slot(in), tokens, slot(Act.GATE_UP));
        CpuOps.siluMul(slot(Act.GATE_UP), tokens, config.intermediateSize(), slot(out));
    }

    @Override
    public int logitRows() {
        return step.numLogitRows();
    }

    @Override
    public void logits(Act hidden, CpuLinear lmHead) {
        final int rows = step.numLogitRows();
        CpuOps.gatherRows(slot(hidden), step.logitRows(), rows, config.hiddenSize(), logitInputs);
        lmHead.apply(logitInputs, rows, logits);
    }

    private float[] slot(Act act) {
        return slots[act.ordinal()];
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

    private void ensureCapacity(int rows) {
        if (rows <= capacity) {
            return;
        }
        capacity = Math.max(rows, capacity * 2);
        final int hidden = config.hiddenSize();
        for (Act act : Act.values()) {
            slots[act.ordinal()] = new float[capacity * width(act)];
        }
        logitInputs = new float[capacity * hidden];
    }

    private int width(Act act) {
        return switch (act) {
            case RESIDUAL, X, NORMED -> config.hiddenSize();
            case QKV -> qkvDim;
            case ATTENTION -> config.qDim();
            case GATE_UP -> 2 * config.intermediateSize();
            case ACTIVATION -> config.intermediateSize();
        };
    }
}
