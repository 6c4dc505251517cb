package io.splitserve.engine.cuda;

import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemHostAlloc;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;

import io.splitserve.engine.forward.BatchStep;
import io.splitserve.engine.sampling.SamplingBatch;
import io.splitserve.engine.sampling.TokenHistory;
import io.splitserve.kernels.cuda.LogitProcessingKernel;
import io.splitserve.kernels.cuda.LogprobsKernel;
import io.splitserve.model.LogitBias;
import io.splitserve.model.SamplingParams;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import jcuda.Pointer;

/**
 * The flat metadata of one step, packed into pinned host memory and copied to the device in one asynchronous
 * copy: token ids, positions, KV slots, query starts, context lengths, logit rows, block tables, each logit row's
 * sampling parameters (temperature, top-k, top-p, min-p, then the 64-bit seeds and counters on 8-byte boundaries)
 * and the page copies (source, destination, rows per copy), back to back, then the compact lists of the rows that
 * have a logit bias or penalties (per row, its penalty entries and bias entries; see {@code logit_processing.cu}) and
 * of the rows that ask for logprobs (see {@code logprobs.cu}), empty on most steps. Kernels read these arrays at
 * {@link #address(int)} of the section offsets below (in ints); the page copies and the lists come last, so they never
 * move a section a captured graph reads (the lists' kernels run outside any graph). A penalty entry is listed for
 * a token of the output, and for a prompt-only token only when the repetition penalty is on. The sampling kernel advances the counters in place, but the host packs every
 * row's counter again each step, so no draw depends on what a previous step left on the device.
 *
 * <p>A decode step is packed padded to its batch bucket with a fixed block-table stride, so the section offsets
 * depend only on (bucket, stride) and a graph captured for that shape stays valid: padding rows have token id -1
 * (embedding gives zeros), slot -1 (no KV write), context length 0 (attention gives zeros) and greedy sampling.
 *
 * <p>The buffers grow when a step needs more room; {@link #generation()} then changes, because every address
 * baked into a captured graph is stale. The host memory is reused only after the previous step's copy completed,
 * which the runner guarantees by synchronising its stream at the end of every step.
 */
final class StepMetadata implements AutoCloseable {
    private Pointer host = new Pointer();
    private IntBuffer ints;
    private LongBuffer longs;
    private DeviceBuffer device;
    private int capacity;
    private int generation;
    private int used;

    int tokenIds;
    int positions;
    int slots;
    int queryStarts;
    int contextLens;
    int logitRows;
    int blockTables;
    int blockStride;
    int temperatures;
    int topKs;
    int topPs;
    int minPs;
    int seeds;
    int counters;
    int pageCopies;
    int pageCopyCount;
    int processingRows;
    int processedCount;
    int penaltyEntries;
    int biasEntries;
    int logprobRows;
    int logprobCount;
    private int penaltyEntryCount;
    private int biasEntryCount;

    StepMetadata(int initialInts) {
        allocate(initialInts);
    }

    /**
     * Packs a ragged step as it is (prefill, mixed or eager decode), with {@code sampling} for its logit rows, or greedy
     * rows when it is null.
     */
    void packRagged(BatchStep step, SamplingBatch sampling) {
        final int t = step.numTokens();
        final int b = step.numSeqs();
        final int r = step.numLogitRows();
        blockStride = step.blockTableStride();
        countExtras(sampling);
        layout(t, b, r, blockStride, step.numPageCopies());
        put(tokenIds, step.tokenIds(), t);
        put(positions, step.positions(), t);
        put(slots, step.slotMapping(), t);
        put(queryStarts, step.queryStarts(), b + 1);
        put(contextLens, step.contextLens(), b);
        put(logitRows, step.logitRows(), r);
        put(blockTables, step.blockTables(), b * blockStride);
        putSampling(sampling, r, r);
        put(pageCopies, step.pageCopies(), 3 * pageCopyCount);
        putExtras(sampling);
    }

    /**
     * Packs only the sampling of {@code sampling}'s rows (no tokens, sequences or copies), for sampling logits that
     * did not come from a step through {@link DeviceSampler}.
     */
    void packSampling(SamplingBatch sampling) {
        final int rows = sampling.rows();
        blockStride = 0;
        countExtras(sampling);
        layout(0, 0, rows, 0, 0);
        putSampling(sampling, rows, rows);
        putExtras(sampling);
    }

    /**
     * Packs a decode step (one query token per sequence) padded to {@code bucket} sequences with block tables
     * {@code stride} pages wide, with {@code sampling} for its rows (or greedy rows when it is null); every sequence's
     * context must fit in {@code stride} pages.
     */
    void packDecode(BatchStep step, SamplingBatch sampling, int bucket, int stride) {
        final int n = step.numSeqs();
        blockStride = stride;
        countExtras(sampling);
        layout(bucket, bucket, bucket, stride, step.numPageCopies());
        put(pageCopies, step.pageCopies(), 3 * pageCopyCount);
        putSampling(sampling, n, bucket);
        putExtras(sampling);
        final int[] stepTables = step.blockTables();
        final int stepStride = step.blockTableStride();
        for (int s = 0; s < bucket; s++) {
            final boolean real = s < n;
            ints.put(tokenIds + s, real ? step.tokenIds()[s] : -1);
            ints.put(positions + s, real ? step.positions()[s] : 0);
            ints.put(slots + s, real ? step.slotMapping()[s] : -1);
            ints.put(queryStarts + s, s);
            ints.put(contextLens + s, real ? step.contextLens()[s] : 0);
            ints.put(logitRows + s, s);
            final int row = blockTables + s * stride;
            final int copied = real ? Math.min(stepStride, stride) : 0;
            for (int p = 0; p < copied; p++) {
                ints.put(row + p, stepTables[s * stepStride + p]);
            }
            for (int p = copied; p < stride; p++) {
                ints.put(row + p, 0);
            }
        }
        ints.put(queryStarts + bucket, bucket);
    }

    /**
     * Rows {@code [0, real)} from {@code sampling} (which must hold exactly {@code real} rows), rows
     * {@code [real, rows)} greedy padding; all rows greedy when {@code sampling} is null.
     */
    private void putSampling(SamplingBatch sampling, int real, int rows) {
        if (sampling != null && sampling.rows() != real) {
            throw new IllegalArgumentException("the step has " + real + " logit rows but sampling parameters for "
                    + sampling.rows());
        }
        for (int r = 0; r < rows; r++) {
            final boolean given = sampling != null && r < real;
            ints.put(temperatures + r, Float.floatToRawIntBits(given ? sampling.temperature(r) : 0f));
            ints.put(topKs + r, given ? sampling.topK(r) : 0);
            ints.put(topPs + r, Float.floatToRawIntBits(given ? sampling.topP(r) : 1f));
            ints.put(minPs + r, Float.floatToRawIntBits(given ? sampling.minP(r) : 0f));
            longs.put(seeds / 2 + r, given ? sampling.seed(r) : 0L);
            longs.put(counters / 2 + r, given ? sampling.counter(r) : 0L);
        }
    }

    /** Whether the step has rows to process or logprobs to compute, which the sampling graph does not do. */
    boolean hasExtras() {
        return processedCount > 0 || logprobCount > 0;
    }

    /** Whether penalty entry {@code e} of {@code history} changes a logit under a repetition penalty {@code rep}. */
    private static boolean listed(TokenHistory history, int e, float repetition) {
        return history.outputCount(e) > 0 || (repetition != 1f && history.inPrompt(e));
    }

    /** Sizes the lists of {@code sampling}'s processed and logprob rows (all empty when it is null). */
    private void countExtras(SamplingBatch sampling) {
        processedCount = 0;
        penaltyEntryCount = 0;
        biasEntryCount = 0;
        logprobCount = 0;
        if (sampling == null) {
            return;
        }
        for (int r = 0; r < sampling.rows() && (sampling.processedRows() > 0 || sampling.logprobRows() > 0); r++) {
            final SamplingParams params = sampling.params(r);
            if (params.processesLogits()) {
                processedCount++;
                biasEntryCount += params.logitBias().size();
                final TokenHistory history = sampling.history(r);
                if (history != null) {
                    final float repetition = (float) params.repetitionPenalty();
                    for (int e = 0; e < history.size(); e++) {
                        if (listed(history, e, repetition)) {
                            penaltyEntryCount++;
                        }
                    }
                }
            }
            if (params.logprobs() > 0) {
                logprobCount++;
            }
        }
    }

    /** Packs the lists {@link #countExtras} sized; row order, so logprob slot {@code j} is the j-th asking row. */
    private void putExtras(SamplingBatch sampling) {
        if (!hasExtras()) {
            return;
        }
        int processed = 0;
        int penalty = 0;
        int bias = 0;
        int logprob = 0;
        for (int r = 0; r < sampling.rows(); r++) {
            final SamplingParams params = sampling.params(r);
            int processingIndex = -1;
            if (params.processesLogits()) {
                processingIndex = processed;
                final int row = processingRows + processed++ * LogitProcessingKernel.ROW_FIELDS;
                final float repetition = (float) params.repetitionPenalty();
                ints.put(row, r);
                ints.put(row + 1, penalty);
                ints.put(row + 3, bias);
                ints.put(row + 5, Float.floatToRawIntBits(repetition));
                ints.put(row + 6, Float.floatToRawIntBits((float) params.frequencyPenalty()));
                ints.put(row + 7, Float.floatToRawIntBits((float) params.presencePenalty()));
                final TokenHistory history = sampling.history(r);
                final int firstPenalty = penalty;
                for (int e = 0; history != null && e < history.size(); e++) {
                    if (listed(history, e, repetition)) {
                        final int at = penaltyEntries + penalty++ * LogitProcessingKernel.PENALTY_FIELDS;
                        ints.put(at, history.token(e));
                        ints.put(at + 1, history.outputCount(e));
                        ints.put(at + 2, history.inPrompt(e) ? 1 : 0);
                        ints.put(at + 3, 0);
                    }
                }
                ints.put(row + 2, penalty - firstPenalty);
                final LogitBias logitBias = params.logitBias();
                for (int i = 0; i < logitBias.size(); i++) {
                    final int at = biasEntries + bias++ * LogitProcessingKernel.BIAS_FIELDS;
                    ints.put(at, logitBias.token(i));
                    ints.put(at + 1, Float.floatToRawIntBits(logitBias.bias(i)));
                    ints.put(at + 2, 0);
                }
                ints.put(row + 4, logitBias.size());
            }
            if (params.logprobs() > 0) {
                final int at = logprobRows + logprob++ * LogprobsKernel.ROW_FIELDS;
                ints.put(at, r);
                ints.put(at + 1, params.logprobs());
                ints.put(at + 2, processingIndex);
            }
        }
    }

    private void layout(int tokens, int seqs, int rows, int stride, int copies) {
        tokenIds = 0;
        positions = tokenIds + tokens;
        slots = positions + tokens;
        queryStarts = slots + tokens;
        contextLens = queryStarts + seqs + 1;
        logitRows = contextLens + seqs;
        blockTables = logitRows + rows;
        temperatures = blockTables + seqs * stride;
        topKs = temperatures + rows;
        topPs = topKs + rows;
        minPs = topPs + rows;
        seeds = (minPs + rows + 1) & ~1; // 8-byte aligned
        counters = seeds + 2 * rows;
        pageCopies = counters + 2 * rows;
        pageCopyCount = copies;
        processingRows = pageCopies + 3 * copies;
        penaltyEntries = processingRows + LogitProcessingKernel.ROW_FIELDS * processedCount;
        biasEntries = penaltyEntries + LogitProcessingKernel.PENALTY_FIELDS * penaltyEntryCount;
        logprobRows = biasEntries + LogitProcessingKernel.BIAS_FIELDS * biasEntryCount;
        used = logprobRows + LogprobsKernel.ROW_FIELDS * logprobCount;
        if (used > capacity) {
            close();
            allocate(Math.max(used, 2 * capacity));
            generation++;
        }
    }

    private void put(int offset, int[] values, int count) {
        ints.put(offset, values, 0, count);
    }

    /** Copies the packed ints to the device, ordered on {@code stream}. */
    void upload(CudaStream stream) {
        cuMemcpyHtoDAsync(device.pointer(), host, 4L * used, stream.stream());
    }

    /** Device address of the int at {@code offset}. */
    long address(int offset) {
        return device.address(4L * offset);
    }

    /** Changes whenever the device buffer moved. */
    int generation() {
        return generation;
    }

    private void allocate(int count) {
        capacity = count;
        host = new Pointer();
        cuMemHostAlloc(host, 4L * count, 0);
        ints = host.getByteBuffer(0, 4L * count).order(ByteOrder.nativeOrder()).asIntBuffer();
        longs = host.getByteBuffer(0, 4L * count).order(ByteOrder.nativeOrder()).asLongBuffer();
        device = DeviceBuffer.allocate(4L * count);
    }

    @Override
    public void close() {
        if (device != null) {
            device.close();
            cuMemFreeHost(host);
            device = null;
        }
    }
}
