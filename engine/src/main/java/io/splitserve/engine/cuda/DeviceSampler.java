package io.splitserve.engine.cuda;

import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;

import io.splitserve.engine.sampling.SamplingBatch;
import io.splitserve.engine.sampling.TokenLogprobs;
import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.LogitProcessingKernel;
import io.splitserve.kernels.cuda.LogprobsKernel;
import io.splitserve.kernels.cuda.SamplingKernel;
import io.splitserve.model.SamplingParams;
import jcuda.Pointer;

/**
 * Picks a step's tokens on the GPU from its logits under the parameters packed in its {@link StepMetadata}, by the
 * rule of the engine's CPU {@code Sampler}: the sampling kernel alone ({@link #sample}, what a decode graph ends
 * with) or, when the metadata lists rows with a logit bias, penalties or logprobs ({@link #sampleWithExtras}, never
 * inside a graph, as the lists change every step), {@code logprobs_top} over the raw logits, then
 * {@code apply_logit_processing} in place, the sampling kernel and {@code logprobs_chosen}. Nothing of the logits
 * comes to the host; {@link #readLogprobs} copies back only the logprob slots of the rows that asked. Owns the
 * kernels and the slots' device buffer; one per runner, driven by the runner's thread.
 */
final class DeviceSampler implements AutoCloseable {
    private final SamplingKernel sampling;
    private final LogitProcessingKernel logitProcessing;
    private final LogprobsKernel logprobs;
    private final int vocab;
    private DeviceBuffer logprobSlots;
    private int[] logprobsHost = new int[0];

    DeviceSampler(CudaDevice device, int vocab) {
        if (LogprobsKernel.MAX_TOP != SamplingParams.MAX_LOGPROBS) {
            throw new IllegalStateException("logprobs.cu holds " + LogprobsKernel.MAX_TOP + " top tokens, requests ask"
                    + " up to " + SamplingParams.MAX_LOGPROBS);
        }
        this.sampling = new SamplingKernel(device);
        this.logitProcessing = new LogitProcessingKernel(device);
        this.logprobs = new LogprobsKernel(device);
        this.vocab = vocab;
    }

    /** Each of {@code rows} rows' token into {@code sampled} under the parameters packed in {@code metadata}. */
    void sample(CudaStream stream, StepMetadata metadata, long logits, long sampled, int rows) {
        sampling.sample(stream, sampled, logits, vocab, vocab, rows, metadata.address(metadata.temperatures),
                metadata.address(metadata.topKs), metadata.address(metadata.topPs), metadata.address(metadata.minPs),
                metadata.address(metadata.seeds), metadata.address(metadata.counters));
    }

    /**
     * As {@link #sample} with what the metadata lists besides: the raw rows' logprobs (max, log-sum, top tokens), bias
     * and penalties applied to {@code logits} in place, the sampling kernel, the chosen tokens' logprobs. With empty
     * lists this is {@link #sample} alone.
     */
    void sampleWithExtras(CudaStream stream, StepMetadata metadata, long logits, long sampled, int rows) {
        if (metadata.logprobCount > 0) {
            final long bytes = 4L * metadata.logprobCount * LogprobsKernel.SLOT_INTS;
            if (logprobSlots == null || logprobSlots.bytes() < bytes) {
                if (logprobSlots != null) {
                    stream.synchronize();
                    logprobSlots.close();
                }
                logprobSlots = DeviceBuffer.allocate(Math.max(bytes, 4L * 16 * LogprobsKernel.SLOT_INTS));
            }
            logprobs.top(stream, logits, vocab, vocab, metadata.logprobCount, metadata.address(metadata.logprobRows),
                    logprobSlots.address());
        }
        if (metadata.processedCount > 0) {
            logitProcessing.apply(stream, logits, vocab, metadata.processedCount,
                    metadata.address(metadata.processingRows), metadata.address(metadata.penaltyEntries),
                    metadata.address(metadata.biasEntries));
        }
        sample(stream, metadata, logits, sampled, rows);
        if (metadata.logprobCount > 0) {
            logprobs.chosen(stream, logits, vocab, metadata.logprobCount, metadata.address(metadata.logprobRows),
                    sampled, metadata.address(metadata.processingRows), metadata.address(metadata.penaltyEntries),
                    metadata.address(metadata.biasEntries), logprobSlots.address());
        }
    }

    /**
     * After the step's work completed: copies the logprob slots back and fills the holders of {@code sampling}'s rows
     * that asked (slot j for the j-th such row, as {@link StepMetadata} packs them); {@code tokens} are the sampled ids.
     */
    void readLogprobs(SamplingBatch sampling, int[] tokens) {
        final int ints = sampling.logprobRows() * LogprobsKernel.SLOT_INTS;
        if (logprobsHost.length < ints) {
            logprobsHost = new int[ints];
        }
        cuMemcpyDtoH(Pointer.to(logprobsHost), logprobSlots.pointer(), 4L * ints);
        int slot = 0;
        for (int r = 0; r < sampling.rows(); r++) {
            final TokenLogprobs out = sampling.logprobs(r);
            if (out == null) {
                continue;
            }
            final int at = slot++ * LogprobsKernel.SLOT_INTS;
            final int count = Math.min(sampling.params(r).logprobs(), vocab);
            out.set(tokens[r], Float.intBitsToFloat(logprobsHost[at + 2]), count);
            for (int i = 0; i < count; i++) {
                out.setTop(i, logprobsHost[at + 3 + 2 * i], Float.intBitsToFloat(logprobsHost[at + 4 + 2 * i]));
            }
        }
    }

    @Override
    public void close() {
        if (logprobSlots != null) {
            logprobSlots.close();
            logprobSlots = null;
        }
    }
}
