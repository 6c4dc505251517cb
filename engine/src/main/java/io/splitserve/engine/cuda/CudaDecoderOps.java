package io.splitserve.engine.cuda;

import io.splitserve.engine.forward.Act;
import io.splitserve.engine.forward.DecoderOps;
import io.splitserve.kernels.cuda.ActivationKernels;
import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DecodeAttentionKernel;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.EmbeddingKernel;
import io.splitserve.kernels.cuda.GemvKernel;
import io.splitserve.kernels.cuda.KvWriteKernel;
import io.splitserve.kernels.cuda.PrefillAttentionKernel;
import io.splitserve.kernels.cuda.RmsNormKernels;
import io.splitserve.kernels.cuda.RopeKernel;
import io.splitserve.kernels.cuda.RopeKvWriteKernel;
import io.splitserve.model.ModelConfig;

/**
 * {@link DecoderOps} over the project's CUDA kernels: each op queues its kernel on the compute stream, reading the
 * step's metadata (token ids, positions, slots, block tables) from the device copy in {@link StepMetadata} and the
 * activations from {@link Activations}; nothing waits. Linear layers are {@link DeviceLinear}s. A step is prepared
 * with {@link #decodeStep} (one token per sequence, padded to a graph bucket, decode attention with its partition)
 * or {@link #raggedStep} (prefill, chunks and mixed steps: prefill attention, logit rows gathered, optional KV
 * export after each layer's KV write). The ops neither allocate nor branch on anything but that step state, so a
 * decode step queues the same kernels with the same arguments every time and can be captured as a graph.
 *
 * <p>Fused (the default, {@link io.splitserve.engine.EngineOptions#fusedDecode}): RoPE and the KV write run as one
 * kernel, a step of at most {@link GemvKernel#MAX_ROWS} tokens runs gate|up and SiLU·up as one GEMV (more tokens take
 * the GEMM into the {@link Act#GATE_UP} slot and SiLU-and-mul); two launches fewer per layer of a decode step. Unfused
 * runs the separate kernels, with the same results. Decode attention is the same either way: its split pass, then the
 * merge when there is more than one split (a merge by the last split block measured slower on the H200).
 *
 * <p>Owned by the runner's thread.
 */
final class CudaDecoderOps implements DecoderOps<DeviceBuffer, DeviceBuffer, DeviceLinear> {
    private final ModelConfig config;
    private final CudaStream stream;
    private final EmbeddingKernel embedding;
    private final RmsNormKernels norms;
    private final RopeKernel rope;
    private final KvWriteKernel kvWrite;
    private final RopeKvWriteKernel ropeKvWrite;
    private final ActivationKernels activations;
    private final PrefillAttentionKernel prefillAttention;
    private final DecodeAttentionKernel decodeAttention;
    private final DeviceBuffer invFreq;
    private final StepMetadata metadata;
    private final KvPool pool;
    private final float attentionScale;
    private final int qkvDim;
    private final boolean fused;
    private Activations work;

    private int tokens;
    private int seqs;
    private boolean decode;
    private int blockStride;
    private int partition;
    private int maxContext;
    private int logitRows;
    private KvExport export;

    CudaDecoderOps(ModelConfig config, CudaDevice device, CudaStream stream, KvWriteKernel kvWrite,
                   ActivationKernels activations, DecodeAttentionKernel decodeAttention, StepMetadata metadata,
                   KvPool pool, boolean fused) {
        this.config = config;
        this.stream = stream;
        this.embedding = new EmbeddingKernel(device);
        this.norms = new RmsNormKernels(device);
        this.rope = new RopeKernel(device);
        this.ropeKvWrite = new RopeKvWriteKernel(device);
        this.prefillAttention = new PrefillAttentionKernel(device);
        this.kvWrite = kvWrite;
        this.activations = activations;
        this.decodeAttention = decodeAttention;
        this.metadata = metadata;
        this.pool = pool;
        this.invFreq = DeviceBuffer.allocate(4L * config.headDim() / 2);
        invFreq.copyFrom(config.ropeInvFreq());
        this.attentionScale = config.attentionScale();
        this.qkvDim = config.qDim() + 2 * config.kvDim();
        this.fused = fused;
    }

    /** The work buffers the ops read and write from now on (after the runner grew them). */
    void use(Activations work) {
        this.work = work;
    }

    /**
     * A decode step of {@code batch} rows (padding included), block tables {@code stride} pages wide, contexts of
     * at most {@code maxContext} tokens: decode attention, and logits for every row without a gather.
     */
    void decodeStep(int batch, int stride, int maxContext) {
        this.tokens = batch;
        this.seqs = batch;
        this.decode = true;
        this.blockStride = stride;
        this.maxContext = maxContext;
        this.partition = decodeAttention.partitionFor(batch, config.numKvHeads(), config.headDim(), maxContext);
        this.logitRows = batch;
        this.export = null;
    }

    /**
     * A ragged step as packed in the metadata: prefill attention, {@code rows} gathered logit rows, and each layer's
     * KV copied out through {@code export} when it is not null.
     */
    void raggedStep(int tokens, int seqs, int rows, KvExport export) {
        this.tokens = tokens;
        this.seqs = seqs;
        this.decode = false;
        this.blockStride = metadata.blockStride;
        this.maxContext = 0;
        this.partition = 0;
        this.logitRows = rows;
        this.export = export;
    }

    @Override
    public void embed(Act out, DeviceBuffer table) {
        embedding.gather(stream, work.address(out), table.address(), metadata.address(metadata.tokenIds), tokens,
                config.hiddenSize(), config.vocabSize());
    }

    @Override
    public void rmsNorm(Act out, Act in, DeviceBuffer weight) {
        norms.rmsNorm(stream, work.address(out), work.address(in), weight.address(), tokens, config.hiddenSize(),
                config.rmsNormEps());
    }

    @Override
    public void addRmsNorm(Act out, Act residual, Act x, DeviceBuffer weight) {
        norms.addRmsNorm(stream, work.address(out), work.address(residual), work.address(x), weight.address(), tokens,
                config.hiddenSize(), config.rmsNormEps());
    }

    @Override
    public void linear(Act out, Act in, DeviceLinear linear) {
        linear.apply(stream, work.address(out), work.address(in), tokens);
    }

    @Override
    public void qkNorm(Act qkv, DeviceBuffer q, DeviceBuffer k) {
        final long rows = work.address(qkv);
        norms.headRmsNorm(stream, rows, qkvDim, tokens, config.numHeads(), q.address(), config.headDim(),
                config.rmsNormEps());
        norms.headRmsNorm(stream, keys(rows), qkvDim, tokens, config.numKvHeads(), k.address(), config.headDim(),
                config.rmsNormEps());
    }

    /** Fused, the K heads of the rows stay unrotated: attention and the KV export read K from the pages. */
    @Override
    public void ropeAndWriteKv(int layer, Act qkv) {
        final ModelConfig c = config;
        final long rows = work.address(qkv);
        final long positions = metadata.address(metadata.positions);
        final long slots = metadata.address(metadata.slots);
        if (fused) {
            ropeKvWrite.apply(stream, rows, qkvDim, c.numHeads(), c.numKvHeads(), pool.keys(layer), pool.values(layer),
                    slots, positions, invFreq.address(), tokens, c.headDim());
        } else {
            rope.apply(stream, rows, qkvDim, c.numHeads(), keys(rows), qkvDim, c.numKvHeads(), positions,
                    invFreq.address(), tokens, c.headDim());
            kvWrite.write(stream, pool.keys(layer), pool.values(layer), keys(rows), values(rows), qkvDim, slots,
                    tokens, c.kvDim());
        }
    }

    @Override
    public void kvWritten(int layer) {
        if (export != null) {
            export.afterKvWrite(stream, layer, pool.keyPages(layer), pool.valuePages(layer));
        }
    }

    @Override
    public void attention(int layer, Act out, Act qkv) {
        final ModelConfig c = config;
        if (decode) {
            decodeAttention.run(stream, work.address(out), c.qDim(), work.address(qkv), qkvDim, pool.keys(layer),
                    pool.values(layer), metadata.address(metadata.blockTables), blockStride,
                    metadata.address(metadata.contextLens), tokens, pool.pageSize(), c.numHeads(), c.numKvHeads(),
                    c.headDim(), partition, maxContext, attentionScale);
        } else {
            prefillAttention.run(stream, work.address(out), c.qDim(), work.address(qkv), qkvDim, pool.keys(layer),
                    pool.values(layer), metadata.address(metadata.queryStarts), metadata.address(metadata.contextLens),
                    metadata.address(metadata.blockTables), blockStride, seqs, tokens, pool.pageSize(), c.numHeads(),
                    c.numKvHeads(), c.headDim(), attentionScale);
        }
    }

    @Override
    public void gateUpSiluMul(Act out, Act in, DeviceLinear gateUp) {
        if (fused && tokens <= GemvKernel.MAX_ROWS) {
            gateUp.applySwiGlu(stream, work.address(out), work.address(in), tokens);
        } else {
            gateUp.apply(stream, work.address(Act.GATE_UP), work.address(in), tokens);
            activations.siluAndMul(stream, work.address(out), work.address(Act.GATE_UP), tokens,
                    config.intermediateSize());
        }
    }

    @Override
    public int logitRows() {
        return logitRows;
    }

    /** fp32 logits into the work buffer's logits; a decode step's rows are all its rows, a ragged step gathers. */
    @Override
    public void logits(Act hidden, DeviceLinear lmHead) {
        if (decode) {
            lmHead.apply(stream, work.logits.address(), work.address(hidden), tokens);
        } else {
            // a row gather is an embedding lookup whose table is the hidden states
            embedding.gather(stream, work.gathered.address(), work.address(hidden),
                    metadata.address(metadata.logitRows), logitRows, config.hiddenSize(), tokens);
            lmHead.apply(stream, work.logits.address(), work.gathered.address(), logitRows);
        }
    }

    /** The K heads of fused QKV rows starting at {@code rows} (bf16). */
    private long keys(long rows) {
        return rows + 2L * config.qDim();
    }

    /** The V heads of fused QKV rows starting at {@code rows} (bf16). */
    private long values(long rows) {
        return rows + 2L * (config.qDim() + config.kvDim());
    }

    void close() {
        invFreq.close();
    }
}
