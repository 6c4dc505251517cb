package io.splitserve.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.sampling.LogitProcessor;
import io.splitserve.engine.sampling.Sampler;
import io.splitserve.engine.sampling.SamplingBatch;
import io.splitserve.engine.sampling.TokenHistory;
import io.splitserve.engine.sampling.TokenLogprobs;
import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.GpuTest;
import io.splitserve.model.LogitBias;
import io.splitserve.model.SamplingParams;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@code logit_processing.cu}, {@code logprobs.cu} and the sampling kernel, run as a step runs them
 * ({@link DeviceSampler#sampleWithExtras} over lists packed by {@link StepMetadata}), against the CPU {@link Sampler}
 * on random rows of vocabularies 1,001, 32,000 and 151,936, in batches mixing plain rows, rows with penalties and bias
 * (greedy and sampled), rows asking for logprobs and rows with all of them: the processed logits are equal bit for bit
 * (the same float operations, unfused), so are the picked tokens and the top tokens' ids; the logprobs (float
 * log-sum-exp on the GPU, double on the host) within {@link Sampler#LOGPROB_TOLERANCE}. Rows without processing keep
 * their raw logits.
 */
@GpuTest
class DeviceSamplerAgreementGpuTest {
    private static final int ROWS = 16;

    @Test
    void processedLogitsTokensAndLogprobsAgreeWithTheCpuSampler() {
        final Random rnd = new Random(77);
        try (CudaDevice device = CudaDevice.open(0); CudaStream stream = new CudaStream()) {
            for (int vocab : new int[] {1001, 32000, 151936}) {
                agree(device, stream, rnd, vocab);
            }
        }
    }

    private static SamplingParams params(Random rnd, int r, int vocab) {
        final SamplingParams base = r % 2 == 0 ? SamplingParams.greedy()
                : new SamplingParams(0.8, r % 3 == 0 ? 40 : 0, 0.9, 0, rnd.nextLong());
        final Map<Integer, Double> bias = new HashMap<>();
        for (int i = 0; i < 1 + rnd.nextInt(6); i++) {
            bias.put(rnd.nextInt(vocab), rnd.nextDouble() * 200 - 100);
        }
        bias.put(3, 9.5); // token 3 is in every history too: bias and penalty on one token
        final SamplingParams processed = base.withPenalties(0.5 + 1.5 * rnd.nextDouble(), 4 * rnd.nextDouble() - 2,
                4 * rnd.nextDouble() - 2).withLogitBias(LogitBias.of(bias));
        return switch (r % 4) {
            case 0 -> base;                                  // nothing beyond today's sampling
            case 1 -> processed;                             // penalties and bias
            case 2 -> base.withLogprobs(1 + rnd.nextInt(20)); // logprobs only
            default -> processed.withLogprobs(20);           // all of it
        };
    }

    /** A prompt of 300 random tokens and an output of 80 drawn from 30 tokens (so counts above 1), both with 3. */
    private static TokenHistory history(Random rnd, int vocab) {
        final int[] tokens = new int[380];
        for (int i = 0; i < 300; i++) {
            tokens[i] = rnd.nextInt(vocab);
        }
        final int[] pool = new int[30];
        for (int i = 0; i < pool.length; i++) {
            pool[i] = rnd.nextInt(vocab);
        }
        for (int i = 300; i < tokens.length; i++) {
            tokens[i] = pool[rnd.nextInt(pool.length)];
        }
        tokens[10] = 3;
        tokens[350] = 3;
        return TokenHistory.of(tokens, tokens.length, 80);
    }

    private static void agree(CudaDevice device, CudaStream stream, Random rnd, int vocab) {
        final float[] logits = new float[ROWS * vocab];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) rnd.nextGaussian() * 4f;
        }
        final SamplingBatch batch = new SamplingBatch();
        final SamplingParams[] params = new SamplingParams[ROWS];
        final TokenHistory[] histories = new TokenHistory[ROWS];
        for (int r = 0; r < ROWS; r++) {
            params[r] = params(rnd, r, vocab);
            histories[r] = history(rnd, vocab);
            batch.add(params[r], rnd.nextInt(1000), histories[r]);
        }
        final Sampler sampler = new Sampler(vocab);
        final float[] expectedLogits = logits.clone();
        final int[] expected = new int[ROWS];
        for (int r = 0; r < ROWS; r++) {
            if (params[r].processesLogits()) {
                LogitProcessor.apply(expectedLogits, r * vocab, params[r], histories[r]);
            }
            expected[r] = sampler.sample(logits, r * vocab, vocab, params[r], batch.counter(r), histories[r]);
        }
        try (StepMetadata metadata = new StepMetadata(1024);
             DeviceSampler deviceSampler = new DeviceSampler(device, vocab);
             DeviceBuffer dLogits = DeviceBuffer.allocate(4L * logits.length);
             DeviceBuffer dSampled = DeviceBuffer.allocate(4L * ROWS)) {
            metadata.packSampling(batch);
            assertEquals(ROWS / 2, metadata.processedCount);
            assertEquals(ROWS / 2, metadata.logprobCount);
            metadata.upload(stream);
            dLogits.copyFrom(logits);
            deviceSampler.sampleWithExtras(stream, metadata, dLogits.address(), dSampled.address(), ROWS);
            stream.synchronize();
            final float[] processed = new float[logits.length];
            dLogits.copyTo(processed);
            final int[] got = new int[ROWS];
            dSampled.copyTo(got);
            for (int i = 0; i < logits.length; i++) {
                if (Float.floatToRawIntBits(expectedLogits[i]) != Float.floatToRawIntBits(processed[i])) {
                    throw new AssertionError("vocab " + vocab + ", row " + i / vocab + " token " + i % vocab + " under "
                            + params[i / vocab] + ": host " + expectedLogits[i] + ", device " + processed[i]);
                }
            }
            for (int r = 0; r < ROWS; r++) {
                assertEquals(expected[r], got[r], "vocab " + vocab + ", row " + r + " under " + params[r]);
            }
            deviceSampler.readLogprobs(batch, got);
            final TokenLogprobs reference = new TokenLogprobs();
            for (int r = 0; r < ROWS; r++) {
                final TokenLogprobs device0 = batch.logprobs(r);
                if (params[r].logprobs() == 0) {
                    continue;
                }
                sampler.logprobs(logits, r * vocab, vocab, got[r], params[r].logprobs(), reference);
                final String where = "vocab " + vocab + ", row " + r;
                assertEquals(got[r], device0.token(), where);
                assertEquals(reference.logprob(), device0.logprob(), Sampler.LOGPROB_TOLERANCE, where + " chosen");
                assertEquals(reference.count(), device0.count(), where);
                for (int i = 0; i < reference.count(); i++) {
                    assertEquals(reference.topToken(i), device0.topToken(i), where + " rank " + i);
                    assertEquals(reference.topLogprob(i), device0.topLogprob(i), Sampler.LOGPROB_TOLERANCE,
                            where + " rank " + i);
                }
                assertTrue(device0.logprob() <= 0f, where);
            }
        }
    }
}
