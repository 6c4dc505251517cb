package io.splitserve.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.GpuTest;
import io.splitserve.kernels.cuda.SamplingKernel;
import io.splitserve.model.SamplingParams;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The kernel {@code sampling.cu} and the host {@link Sampler} pick the same token from the same logits for the same
 * (parameters, seed, counter), on every row: greedy, temperature, top-k (1 included), top-p and min-p, alone and
 * combined, at vocabulary sizes of a small and a real model. No mismatch is allowed: weights, thresholds and the draw
 * are integers on both sides (only min-p's logf may differ in the last bit, which random rows never meet). Row shapes
 * cover the kernel's ways of resolving a threshold, which the test checks on the host: peaked rows (few candidates),
 * flat and Gaussian rows (candidates spread over many value bins, each small enough for shared memory), tied rows
 * (eight distinct logits shared by the whole vocabulary: bins far over {@link SamplingKernel#SHARED_KEY_CAPACITY},
 * resolved over the row down to a single key) and clustered rows (10,000 logits within 1e-3 of each other at the top:
 * one overfull bin narrowed over the row until its part fits shared memory). The kernel also advances every counter
 * by one. (This test lives beside the sampler rather than in the kernels module, which cannot see the engine.)
 */
@GpuTest
class SamplerKernelAgreementGpuTest {
    private static final double[] TEMPERATURES = {0, 0.3, 0.7, 1, 1.5};
    private static final int[] TOP_KS = {0, 0, 1, 5, 50, 1000, 5000};
    private static final double[] TOP_PS = {1, 1, 0.5, 0.9, 0.95};
    private static final double[] MIN_PS = {0, 0, 0.01, 0.1};
    private static final int BINS = 1024;

    @Test
    void kernelPicksTheSamplersTokenOnEveryRow() throws Exception {
        final Random rnd = new Random(2024);
        try (CudaDevice device = CudaDevice.open(0); CudaStream stream = new CudaStream()) {
            final SamplingKernel kernel = new SamplingKernel(device);
            agree(kernel, stream, rnd, 96, 32000, SamplerKernelAgreementGpuTest::gaussian, false);
            agree(kernel, stream, rnd, 8, 151936, SamplerKernelAgreementGpuTest::gaussian, false);
            agree(kernel, stream, rnd, 40, 151936, SamplerKernelAgreementGpuTest::peaked, false);
            agree(kernel, stream, rnd, 40, 151936, SamplerKernelAgreementGpuTest::flat, false);
            agree(kernel, stream, rnd, 40, 151936, SamplerKernelAgreementGpuTest::tied, true);
            agree(kernel, stream, rnd, 40, 151936, SamplerKernelAgreementGpuTest::clustered, true);
            agree(kernel, stream, rnd, 13, 1001, SamplerKernelAgreementGpuTest::gaussian, false);
        }
    }

    /** Fills one row of logits. */
    private interface RowShape {
        void fill(Random rnd, float[] logits, int offset, int vocab);
    }

    private static void gaussian(Random rnd, float[] logits, int offset, int vocab) {
        final float scale = vocab > 100_000 ? 4f : 3f;
        for (int i = 0; i < vocab; i++) {
            logits[offset + i] = (float) rnd.nextGaussian() * scale;
        }
    }

    /** A few dozen tokens near the top, the rest 40 to 60 below: hundreds of candidates at most. */
    private static void peaked(Random rnd, float[] logits, int offset, int vocab) {
        for (int i = 0; i < vocab; i++) {
            logits[offset + i] = -40f - 20f * rnd.nextFloat();
        }
        for (int j = 0; j < 40; j++) {
            logits[offset + rnd.nextInt(vocab)] = 10f + (float) rnd.nextGaussian() * 2f;
        }
    }

    /** Every logit within 0.5 of the others: the whole vocabulary is a candidate at any temperature. */
    private static void flat(Random rnd, float[] logits, int offset, int vocab) {
        for (int i = 0; i < vocab; i++) {
            logits[offset + i] = 0.5f * rnd.nextFloat();
        }
    }

    /** Eight distinct values, each shared by about an eighth of the vocabulary. */
    private static void tied(Random rnd, float[] logits, int offset, int vocab) {
        for (int i = 0; i < vocab; i++) {
            logits[offset + i] = 0.25f * rnd.nextInt(8);
        }
    }

    /** 10,000 logits within 1e-3 of 20 above a Gaussian rest whose maximum stays below 20. */
    private static void clustered(Random rnd, float[] logits, int offset, int vocab) {
        for (int i = 0; i < vocab; i++) {
            logits[offset + i] = (float) Math.max(-19, Math.min(19, rnd.nextGaussian() * 4));
        }
        for (int j = 0; j < 10_000; j++) {
            logits[offset + j * (vocab / 10_000)] = 20f + 1e-3f * rnd.nextFloat();
        }
    }

    /** The most candidates the kernel puts in one value bin of a row at a temperature (its pass 2, on the host). */
    private static int fullestBin(float[] logits, int offset, int vocab, float temperature) {
        float max = Float.NEGATIVE_INFINITY, min = Float.POSITIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[offset + i]);
            min = Math.min(min, logits[offset + i]);
        }
        final float floor = max - Sampler.CANDIDATE_MARGIN * temperature;
        final float low = Math.max(floor, min);
        final float span = max - low;
        final float scale = span > 0 ? BINS / span : 0;
        final int[] bins = new int[BINS];
        for (int i = 0; i < vocab; i++) {
            final float v = logits[offset + i];
            if (v >= floor) {
                bins[Math.min(BINS - 1, (int) ((v - low) * scale))]++;
            }
        }
        return Arrays.stream(bins).max().orElse(0);
    }

    private static void agree(SamplingKernel kernel, CudaStream stream, Random rnd, int rows, int vocab,
                              RowShape shape, boolean overfullBins) {
        final float[] logits = new float[rows * vocab];
        for (int r = 0; r < rows; r++) {
            shape.fill(rnd, logits, r * vocab, vocab);
        }
        final SamplingParams[] params = new SamplingParams[rows];
        final SamplingBatch batch = new SamplingBatch();
        for (int r = 0; r < rows; r++) {
            params[r] = new SamplingParams(TEMPERATURES[r % TEMPERATURES.length], TOP_KS[r % TOP_KS.length],
                    TOP_PS[r % TOP_PS.length], MIN_PS[r % MIN_PS.length], rnd.nextLong());
            batch.add(params[r], rnd.nextInt(1 << 20));
        }
        final float[] temperature = new float[rows];
        final int[] topK = new int[rows];
        final float[] topP = new float[rows];
        final float[] minP = new float[rows];
        final long[] seeds = new long[rows];
        final long[] counters = new long[rows];
        for (int r = 0; r < rows; r++) {
            temperature[r] = batch.temperature(r);
            topK[r] = batch.topK(r);
            topP[r] = batch.topP(r);
            minP[r] = batch.minP(r);
            seeds[r] = batch.seed(r);
            counters[r] = batch.counter(r);
        }
        int overfull = 0, sampled = 0;
        for (int r = 0; r < rows; r++) {
            if (temperature[r] > 0f) {
                sampled++;
                overfull += fullestBin(logits, r * vocab, vocab, temperature[r]) > SamplingKernel.SHARED_KEY_CAPACITY
                        ? 1 : 0;
            }
        }
        if (overfullBins) {
            assertEquals(sampled, overfull, "every sampled row has a value bin too full for shared memory");
        }
        final Sampler sampler = new Sampler(vocab);
        final int[] expected = new int[rows];
        for (int r = 0; r < rows; r++) {
            expected[r] = sampler.sample(logits, r * vocab, vocab, params[r], batch.counter(r));
        }
        try (DeviceBuffer out = DeviceBuffer.allocate(4L * rows);
             DeviceBuffer dLogits = DeviceBuffer.allocate(4L * logits.length);
             DeviceBuffer dTemperature = DeviceBuffer.allocate(4L * rows);
             DeviceBuffer dTopK = DeviceBuffer.allocate(4L * rows);
             DeviceBuffer dTopP = DeviceBuffer.allocate(4L * rows);
             DeviceBuffer dMinP = DeviceBuffer.allocate(4L * rows);
             DeviceBuffer dSeeds = DeviceBuffer.allocate(8L * rows);
             DeviceBuffer dCounters = DeviceBuffer.allocate(8L * rows)) {
            dLogits.copyFrom(logits);
            dTemperature.copyFrom(temperature);
            dTopK.copyFrom(topK);
            dTopP.copyFrom(topP);
            dMinP.copyFrom(minP);
            dSeeds.copyFrom(seeds);
            dCounters.copyFrom(counters);
            kernel.sample(stream, out.address(), dLogits.address(), vocab, vocab, rows, dTemperature.address(),
                    dTopK.address(), dTopP.address(), dMinP.address(), dSeeds.address(), dCounters.address());
            stream.synchronize();
            final int[] got = new int[rows];
            out.copyTo(got);
            for (int r = 0; r < rows; r++) {
                assertEquals(expected[r], got[r], "row " + r + " of vocab " + vocab + " under " + params[r]
                        + " at counter " + counters[r]);
            }
            final long[] advanced = new long[rows];
            dCounters.copyTo(advanced);
            for (int r = 0; r < rows; r++) {
                counters[r]++;
            }
            assertArrayEquals(counters, advanced, "the kernel advances each counter once");
        }
    }
}
