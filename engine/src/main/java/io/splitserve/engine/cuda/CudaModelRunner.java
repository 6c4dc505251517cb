package io.splitserve.engine.cuda;

import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;

import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.forward.BatchStep;
import io.splitserve.engine.forward.DecoderModel;
import io.splitserve.engine.forward.DeviceKvArena;
import io.splitserve.engine.forward.DeviceLayerListener;
import io.splitserve.engine.forward.KvImportBuffer;
import io.splitserve.engine.forward.KvWireType;
import io.splitserve.engine.forward.LayerKvListener;
import io.splitserve.engine.forward.ModelRunner;
import io.splitserve.engine.forward.PeerArena;
import io.splitserve.engine.forward.PeerAttachment;
import io.splitserve.engine.sampling.SamplingBatch;
import io.splitserve.engine.weights.WeightFiles;
import io.splitserve.kernels.cuda.ActivationKernels;
import io.splitserve.kernels.cuda.Crc32cKernel;
import io.splitserve.kernels.cuda.Cublas;
import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.kernels.cuda.CudaGraph;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DecodeAttentionKernel;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.GemvKernel;
import io.splitserve.kernels.cuda.KvCopyPagesKernel;
import io.splitserve.kernels.cuda.KvWriteKernel;
import io.splitserve.kernels.cuda.MatmulOp;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelLoadException;
import java.nio.file.Path;
import java.util.Locale;
import jcuda.Pointer;

/**
 * The CUDA backend, the counterpart of {@code CpuModelRunner}: runs each ragged {@link BatchStep} through the
 * {@link DecoderModel} on {@link CudaDecoderOps}, over bf16 weights uploaded once ({@link DeviceWeights}: the
 * shared layout, q/k/v and gate/up fused; {@link Bf16Linear} takes cuBLAS for many rows and a weight-streaming GEMV
 * for a few, which is as fast as cuBLAS there with the bias fused and each row computed the same way whatever the
 * batch) and a bf16 KV page pool sized from free GPU memory.
 *
 * <p>Two paths. A step in which every sequence decodes one token runs the decode-attention kernel and, with graphs
 * on, is replayed from a CUDA graph captured once per (batch bucket, context bucket), padded to the bucket; the
 * graph ends with the sampling kernel, which reads each row's parameters, seed and counter from the step's metadata
 * (so one graph serves every mix of greedy and sampled sequences, and each replay draws with the current step's
 * counters). A decode step in which some row has a logit bias, penalties or asks for logprobs replays instead a graph
 * of the same shape without the sampling kernel (a second variant per bucket, captured when first needed) and then
 * launches eagerly, after it: {@code logprobs_top} over the raw logits, {@code apply_logit_processing} on the rows
 * that have bias or penalties, the sampling kernel, {@code logprobs_chosen}; the lists they read are packed into the
 * step's metadata after every section a graph reads, so they vary step by step without a capture. Variants rather
 * than patched graphs because a graph cannot be updated in place here (see DESIGN.md), and kernels after the replay
 * rather than a graph per list size because the lists change every step. Steps without any of them run exactly the
 * kernels and graphs they ran before. No row of logits is copied to the host for any of it; only the logprobs
 * (43 ints per asking row) come back with the sampled ids. Any other step (ragged prefill of several prompts, prefill chunks that
 * continue a cached prefix, mixed prefill and decode) launches its kernels eagerly with the prefill-attention
 * kernel, which reads each sequence's whole context from the pool. Per step the metadata goes to the device in one
 * asynchronous copy and the step ends with one stream synchronisation. A step's page copies (copy on write of cached
 * KV rows) run right after that copy, as one kernel on the compute stream, so they land before the step writes any
 * KV; a decode graph never contains them.
 *
 * <p>KV leaves and enters as bf16 rows, what the pages hold: a step run with a {@link LayerKvListener} is copied
 * out layer by layer on a side stream while later layers compute ({@link KvExport}); an imported sequence is written
 * into pinned memory as it arrives and each layer is copied into its pages on another side stream, beside the decode
 * steps, as soon as it is complete ({@link KvImport}).
 *
 * <p>The thread that opens the runner owns the GPU context and must make every call. Work buffers grow (and
 * captured graphs are dropped) only when a step has more tokens or logit rows than any before.
 */
public final class CudaModelRunner implements ModelRunner {
    private static final int DECODE_MAX_SPLITS = 64;
    private static final long MIB = 1L << 20;

    private final ModelConfig config;
    private final EngineOptions options;
    private final CudaDevice device;
    private final CudaStream stream;
    private final Cublas cublas;
    private final DecodeAttentionKernel decodeAttention;
    private final DeviceSampler sampler;
    private final DeviceWeights weights;
    private final DecoderModel<DeviceBuffer, DeviceBuffer, DeviceLinear> model;
    private final CudaDecoderOps ops;
    private final StepMetadata metadata;
    private final DecodeBuckets buckets;
    private final CudaGraph[][] graphs;
    /** Decode graphs without the sampling kernel, for steps whose rows need logit processing or logprobs. */
    private final CudaGraph[][] modelGraphs;
    private final KvPool pool;
    private final KvCopyPagesKernel kvCopyPages;
    private final KvImport kvImport;
    private final Crc32cKernel crc;
    private final KvExportArena exportArena;
    private final PeerArenas peers;
    private KvExport kvExport;
    private Activations work;
    private int graphGeneration;
    private int graphsCaptured;

    private CudaModelRunner(ModelConfig config, EngineOptions options, WeightFiles files) throws ModelLoadException {
        this.config = config;
        this.options = options;
        this.device = CudaDevice.open(options.gpu());
        this.stream = new CudaStream();
        this.cublas = new Cublas(stream);
        final ActivationKernels activationKernels = new ActivationKernels(device);
        final KvWriteKernel kvWrite = new KvWriteKernel(device);
        this.kvCopyPages = new KvCopyPagesKernel(device);
        this.sampler = new DeviceSampler(device, config.vocabSize());
        this.weights = new DeviceWeights(new GemvKernel(device), new MatmulOp(cublas, activationKernels));
        this.model = new DecoderModel<>(weights.load(files, config));

        final int maxBatch = options.maxRunningSequences();
        this.decodeAttention = new DecodeAttentionKernel(device, maxBatch, config.numHeads(), DECODE_MAX_SPLITS);
        final int tokens = Math.max(options.prefillTokenBudget(), maxBatch);
        this.work = new Activations(config, tokens, maxBatch);
        this.metadata = new StepMetadata(3 * tokens + 12 * maxBatch + 3 + maxBatch * 256);
        stream.synchronize();

        final long[] free = {0};
        final long[] total = {0};
        cuMemGetInfo(free, total);
        final long kvBudget = (long) (options.memFraction() * free[0]);
        final long exportBytes = (long) (options.kvExportFraction() * kvBudget);
        this.crc = new Crc32cKernel(device);
        this.exportArena = exportBytes > 0 ? new KvExportArena(device, exportBytes) : null;
        this.peers = new PeerArenas(device);
        final int pages = pageCount(config, options, kvBudget - exportBytes, free[0]);
        this.pool = new KvPool(config, pages, options.pageSize());
        final long poolTokens = (long) pages * options.pageSize();
        this.buckets = new DecodeBuckets(maxBatch, (int) Math.min(poolTokens, config.maxPositionEmbeddings()),
                options.pageSize());
        this.graphs = new CudaGraph[buckets.batchCount()][buckets.contextCount()];
        this.modelGraphs = new CudaGraph[buckets.batchCount()][buckets.contextCount()];
        this.kvImport = new KvImport(pool, kvWrite, crc, peers, config.numLayers(), config.kvDim());
        this.ops = new CudaDecoderOps(config, device, stream, kvWrite, activationKernels, decodeAttention, metadata,
                pool, options.fusedDecode());
        ops.use(work);
    }

    /** Opens the GPU the options name, uploads the model's weights and sizes the KV pool as {@code options} says. */
    public static CudaModelRunner open(Path modelDir, ModelConfig config, EngineOptions options)
            throws ModelLoadException {
        final String reason = CudaDevice.unavailableReason();
        if (reason != null) {
            throw new IllegalStateException("CUDA backend unavailable: " + reason);
        }
        checkShapes(config);
        try (WeightFiles files = WeightFiles.open(modelDir)) {
            return new CudaModelRunner(config, options, files);
        }
    }

    private static void checkShapes(ModelConfig c) {
        if (c.headDim() != 64 && c.headDim() != 128) {
            throw new IllegalArgumentException("the CUDA backend supports head dim 64 or 128; this model has "
                    + c.headDim());
        }
        if (c.numHeads() % c.numKvHeads() != 0 || c.numHeads() / c.numKvHeads() > DecodeAttentionKernel.MAX_GROUP) {
            throw new IllegalArgumentException("the CUDA backend supports at most " + DecodeAttentionKernel.MAX_GROUP
                    + " query heads per KV head; this model has " + c.numHeads() + " over " + c.numKvHeads());
        }
    }

    /**
     * Pages fixed by the options, else as many as {@code budget} bytes hold (the memory fraction of what was free after
     * weights and buffers, less the export arena).
     */
    private static int pageCount(ModelConfig config, EngineOptions options, long budget, long freeBytes) {
        final int limit = KvPool.maxPages(options.pageSize());
        if (options.maxPages() > 0) {
            if (options.maxPages() > limit) {
                throw new IllegalArgumentException("max pages " + options.maxPages() + " exceeds " + limit
                        + " for page size " + options.pageSize());
            }
            return options.maxPages();
        }
        final long pages = budget / KvPool.bytesPerPage(config, options.pageSize());
        if (pages < 1) {
            throw new IllegalStateException("no GPU memory left for the KV cache: " + freeBytes / MIB + " MiB free after"
                    + " weights and buffers");
        }
        return (int) Math.min(limit, pages);
    }

    @Override
    public int pageCount() {
        return pool.pageCount();
    }

    @Override
    public String description() {
        final long[] free = {0};
        final long[] total = {0};
        cuMemGetInfo(free, total);
        return String.format(Locale.ROOT, "cuda (%s, %d MiB: weights %d MiB bf16, work buffers %d MiB, KV %d pages of"
                        + " %d tokens = %d MiB; decode %s)", device.name(), total[0] / MIB, weights.bytes() / MIB,
                work.bytes() / MIB, pool.pageCount(), pool.pageSize(), pool.bytes() / MIB,
                options.cudaGraphs() ? "CUDA graphs" : "eager");
    }

    /** GPU memory in use on this device now (all processes' allocations on it), in bytes. */
    public long deviceMemoryUsed() {
        final long[] free = {0};
        final long[] total = {0};
        cuMemGetInfo(free, total);
        return total[0] - free[0];
    }

    /** Device bytes of the weights, which every step reads once (the LM head included). */
    public long weightBytes() {
        return weights.bytes();
    }

    /** Decode graphs captured so far. */
    public int graphsCaptured() {
        return graphsCaptured;
    }

    @Override
    public void forward(BatchStep step, float[] logits) {
        forward(step, logits, null);
    }

    @Override
    public void forward(BatchStep step, float[] logits, LayerKvListener kvListener) {
        forward(step, logits, kvListener, () -> { });
    }

    @Override
    public void forward(BatchStep step, float[] logits, LayerKvListener kvListener, Runnable logitsReady) {
        checkLogits(step, logits);
        if (kvListener == null) {
            run(step, null, false);
            copyLogits(step, logits);
            logitsReady.run();
            return;
        }
        if (step.numTokens() == 0) {
            logitsReady.run();
            return;
        }
        final KvExport export = launchExporting(step);
        export.prepare(step);
        launchPrefill(step.numTokens(), step.numSeqs(), step.numLogitRows(), false, export);
        export.afterCompute(stream);
        export.deliver(kvListener, () -> {
            copyLogits(step, logits);
            logitsReady.run();
        });
        stream.synchronize();
    }

    @Override
    public DeviceKvArena deviceKvArena() {
        return exportArena;
    }

    @Override
    public void forwardToDevice(BatchStep step, float[] logits, long exportOffset, DeviceLayerListener listener,
                                Runnable logitsReady) {
        if (exportArena == null) {
            throw new UnsupportedOperationException("this runner was opened without a KV export arena");
        }
        checkLogits(step, logits);
        if (step.numTokens() == 0) {
            logitsReady.run();
            return;
        }
        final KvExport export = launchExporting(step);
        final long bytes = export.deviceBytes(step.numTokens());
        if (exportOffset < 0 || exportOffset + bytes > exportArena.capacity()) {
            throw new IllegalArgumentException("a step of " + step.numTokens() + " tokens exports " + bytes
                    + " bytes, which do not fit the arena of " + exportArena.capacity() + " at " + exportOffset);
        }
        export.prepareDevice(step, exportArena, exportOffset);
        launchPrefill(step.numTokens(), step.numSeqs(), step.numLogitRows(), false, export);
        export.afterCompute(stream);
        export.deliverDevice(listener, () -> {
            copyLogits(step, logits);
            logitsReady.run();
        });
        stream.synchronize();
    }

    private void checkLogits(BatchStep step, float[] logits) {
        final long floats = (long) step.numLogitRows() * config.vocabSize();
        if (logits.length < floats) {
            throw new IllegalArgumentException("logits buffer holds " + logits.length + " floats, the step needs "
                    + floats);
        }
    }

    private void copyLogits(BatchStep step, float[] logits) {
        final int rows = step.numLogitRows();
        if (rows > 0) {
            cuMemcpyDtoH(Pointer.to(logits), work.logits.pointer(), 4L * rows * config.vocabSize());
        }
    }

    /**
     * Readies a step on the eager path (never a graph, whose copies could not be waited on per layer) whose KV is
     * copied out layer by layer: buffers, the exporter, the metadata upload.
     */
    private KvExport launchExporting(BatchStep step) {
        ensureCapacity(step.numTokens(), Math.max(step.numLogitRows(), step.numSeqs()));
        if (kvExport == null) {
            kvExport = new KvExport(config.numLayers(), config.kvDim() * 2, crc);
        }
        metadata.packRagged(step, null);
        uploadMetadata();
        return kvExport;
    }

    @Override
    public boolean importsFromDevice() {
        return true;
    }

    @Override
    public String deviceUuid() {
        return device.uuid();
    }

    @Override
    public PeerAttachment attachPeerArena(PeerArena peer) {
        return peers.attach(peer);
    }

    @Override
    public void detachPeerArena(long arenaId) {
        kvImport.drain();
        peers.detach(arenaId);
    }

    @Override
    public KvImportBuffer deviceImportBuffer(int tokens) {
        return kvImport.deviceBuffer(tokens);
    }

    @Override
    public void importLayerFromDevice(KvImportBuffer dst, int layer, int[] slots, long arenaId, long keyOffset,
                                      long valueOffset) {
        kvImport.importLayerFromDevice(dst, layer, slots, arenaId, keyOffset, valueOffset);
    }

    @Override
    public void importedChecksums(KvImportBuffer dst, int[] crcs) {
        kvImport.checksums(dst, crcs);
    }

    @Override
    public KvWireType kvWireType() {
        return KvWireType.BF16;
    }

    @Override
    public KvImportBuffer importBuffer(int tokens) {
        return kvImport.buffer(tokens);
    }

    @Override
    public void importLayer(KvImportBuffer src, int layer, int[] slots) {
        kvImport.importLayer(src, layer, slots);
    }

    @Override
    public void bindToCurrentThread() {
        device.makeCurrent();
    }

    @Override
    public boolean samplesOnDevice() {
        return true;
    }

    /**
     * Runs the step and writes the token the sampling kernel picks for each logit row under {@code sampling} into
     * {@code tokens}, without copying logits to the host.
     */
    @Override
    public void forwardSampled(BatchStep step, SamplingBatch sampling, int[] tokens) {
        forwardSampled(step, sampling, tokens, null);
    }

    /**
     * As {@link #forwardSampled(BatchStep, SamplingBatch, int[])}, running {@code whileComputing} after the launch,
     * before the wait.
     */
    @Override
    public void forwardSampled(BatchStep step, SamplingBatch sampling, int[] tokens, Runnable whileComputing) {
        final int rows = step.numLogitRows();
        if (tokens.length < rows) {
            throw new IllegalArgumentException("token buffer holds " + tokens.length + " ids, the step has " + rows
                    + " logit rows");
        }
        if (sampling == null || sampling.rows() != rows) {
            throw new IllegalArgumentException("the step has " + rows + " logit rows but sampling parameters for "
                    + (sampling == null ? "none" : sampling.rows()));
        }
        launch(step, sampling, true);
        if (whileComputing != null) {
            whileComputing.run();
        }
        stream.synchronize();
        if (rows > 0) {
            cuMemcpyDtoH(Pointer.to(tokens), work.sampled.pointer(), 4L * rows);
        }
        if (rows > 0 && sampling.logprobRows() > 0) {
            sampler.readLogprobs(sampling, tokens);
        }
    }

    private void run(BatchStep step, SamplingBatch sampling, boolean sample) {
        launch(step, sampling, sample);
        stream.synchronize();
    }

    /**
     * Queues the step's work on the compute stream without waiting for it, sampling its rows under {@code sampling}
     * (greedy rows when null) when {@code sample}; a decode step samples in any case (its graph ends with it).
     */
    private void launch(BatchStep step, SamplingBatch sampling, boolean sample) {
        if (step.numTokens() == 0) {
            return;
        }
        ensureCapacity(step.numTokens(), Math.max(step.numLogitRows(), step.numSeqs()));
        if (isDecode(step) && step.numSeqs() <= buckets.maxBatch()) {
            runDecode(step, sampling);
        } else {
            metadata.packRagged(step, sampling);
            uploadMetadata();
            launchPrefill(step.numTokens(), step.numSeqs(), step.numLogitRows(), sample, null);
        }
    }

    /**
     * Milliseconds per replay of this decode step's graph, replayed {@code replays} times back to back after one
     * ordinary run: the GPU's share of a step without the host's per-step work (packing, copies, synchronisation).
     * Replays rewrite the same KV slots with the same values, so the cache is unchanged. For profiling.
     */
    public double graphReplayMillis(BatchStep step, int replays) {
        if (!options.cudaGraphs() || !isDecode(step) || step.numSeqs() > buckets.maxBatch()
                || buckets.contextIndex(step.maxContextLen()) < 0) {
            throw new IllegalArgumentException("only a decode step that runs as a graph can be replayed");
        }
        run(step, null, true);
        final CudaGraph graph = graphs[buckets.batchIndex(step.numSeqs())][buckets.contextIndex(step.maxContextLen())];
        final long start = System.nanoTime();
        for (int i = 0; i < replays; i++) {
            graph.replay(stream);
        }
        stream.synchronize();
        return (System.nanoTime() - start) / 1e6 / replays;
    }

    private static boolean isDecode(BatchStep step) {
        return step.numTokens() == step.numSeqs() && step.numLogitRows() == step.numSeqs();
    }

    private void runDecode(BatchStep step, SamplingBatch sampling) {
        final int n = step.numSeqs();
        final int maxContext = step.maxContextLen();
        final int b = buckets.batchIndex(n);
        final int c = buckets.contextIndex(maxContext);
        if (!options.cudaGraphs() || c < 0) {
            final int stride = step.blockTableStride();
            metadata.packDecode(step, sampling, n, stride);
            uploadMetadata();
            if (metadata.hasExtras()) {
                launchDecodeModel(n, stride, maxContext);
                sampleWithExtras(n);
            } else {
                launchDecode(n, stride, maxContext);
            }
            return;
        }
        final int bucket = buckets.batchSize(b);
        final int context = buckets.contextLength(c);
        final int stride = (context + pool.pageSize() - 1) / pool.pageSize();
        metadata.packDecode(step, sampling, bucket, stride);
        if (metadata.generation() != graphGeneration) {
            dropGraphs();
            graphGeneration = metadata.generation();
        }
        uploadMetadata();
        if (metadata.hasExtras()) {
            if (modelGraphs[b][c] == null) {
                launchDecodeModel(bucket, stride, context);
                modelGraphs[b][c] = CudaGraph.capture(stream, () -> launchDecodeModel(bucket, stride, context));
                graphsCaptured++;
            }
            modelGraphs[b][c].replay(stream);
            sampleWithExtras(bucket);
            return;
        }
        if (graphs[b][c] == null) {
            // one eager run first loads every kernel and cuBLAS path outside capture; rerunning it is harmless
            // (the same K/V lands in the same slots)
            launchDecode(bucket, stride, context);
            graphs[b][c] = CudaGraph.capture(stream, () -> launchDecode(bucket, stride, context));
            graphsCaptured++;
        }
        graphs[b][c].replay(stream);
    }

    /**
     * Copies the packed metadata to the device and queues the step's page copies behind it on the compute stream,
     * before anything of the step's forward pass (never inside a graph: a graph replays no copies).
     */
    private void uploadMetadata() {
        metadata.upload(stream);
        if (metadata.pageCopyCount > 0) {
            kvCopyPages.copy(stream, pool.layerParts(), pool.layerPartCount(), metadata.address(metadata.pageCopies),
                    metadata.pageCopyCount, pool.pageSize(), config.kvDim());
        }
    }

    /** Grows the work buffers (dropping every graph, whose addresses they invalidate) when a step needs more. */
    private void ensureCapacity(int tokens, int rows) {
        if (tokens <= work.tokens && rows <= work.rows) {
            return;
        }
        stream.synchronize();
        dropGraphs();
        final int newTokens = Math.max(tokens, work.tokens);
        final int newRows = Math.max(rows, work.rows);
        work.close();
        work = new Activations(config, newTokens, newRows);
        ops.use(work);
    }

    private void dropGraphs() {
        dropGraphs(graphs);
        dropGraphs(modelGraphs);
    }

    private static void dropGraphs(CudaGraph[][] set) {
        for (CudaGraph[] row : set) {
            for (int i = 0; i < row.length; i++) {
                if (row[i] != null) {
                    row[i].close();
                    row[i] = null;
                }
            }
        }
    }

    /** A decode step of {@code batch} rows (padding included): the model, then the sampling of every row. */
    private void launchDecode(int batch, int stride, int maxContext) {
        launchDecodeModel(batch, stride, maxContext);
        sample(batch);
    }

    /** A decode step's model alone, up to the logits. */
    private void launchDecodeModel(int batch, int stride, int maxContext) {
        ops.decodeStep(batch, stride, maxContext);
        model.forward(ops);
    }

    /**
     * A ragged step as packed in the metadata: the model with prefill attention (each layer's KV copied out through
     * {@code export} when not null), then the sampling of each logit row when {@code sample}.
     */
    private void launchPrefill(int tokens, int seqs, int rows, boolean sample, KvExport export) {
        ops.raggedStep(tokens, seqs, rows, export);
        model.forward(ops);
        if (rows > 0 && sample) {
            sampleWithExtras(rows);
        }
    }

    /** The sampling of {@code rows} rows with the logprobs and logit processing the metadata lists. */
    private void sampleWithExtras(int rows) {
        sampler.sampleWithExtras(stream, metadata, work.logits.address(), work.sampled.address(), rows);
    }

    /** Picks each row's token into {@code work.sampled} under the parameters packed in the step's metadata. */
    private void sample(int rows) {
        sampler.sample(stream, metadata, work.logits.address(), work.sampled.address(), rows);
    }

    @Override
    public void close() {
        stream.synchronize();
        dropGraphs();
        if (kvExport != null) {
            kvExport.close();
        }
        kvImport.close();
        peers.close();
        crc.close();
        if (exportArena != null) {
            exportArena.close();
        }
        pool.close();
        work.close();
        sampler.close();
        metadata.close();
        decodeAttention.close();
        ops.close();
        weights.close();
        cublas.close();
        stream.close();
        device.close();
    }
}
