package io.splitserve.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.GpuTest;
import io.splitserve.kernels.cuda.SamplingKernel;
import io.splitserve.model.SamplingParams;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The kernel {@code sampling.cu} and the host {@link Sampler} pick the same token from the same logits for the same
 * (parameters, seed, counter), on every row: greedy, temperature, top-k (1 included), top-p and min-p, alone and
 * combined, at vocabulary sizes of a small and a real model. The logits are spread Gaussians, so the near-ties at
 * which float rounding may part the two sides (see {@link Sampler}) have negligible probability; no mismatch is
 * allowed. The kernel also advances every counter by one. (This test lives beside the sampler rather than in the
 * kernels module, which cannot see the engine.)
 */
@GpuTest
class SamplerKernelAgreementGpuTest {
    private static final double[] TEMPERATURES = {0, 0.3, 0.7, 1, 1.5};
    private static final int[] TOP_KS = {0, 0, 1, 5, 50, 1000};
    private static final double[] TOP_PS = {1, 1, 0.5, 0.9, 0.95};
    private static final double[] MIN_PS = {0, 0, 0.01, 0.1};

    @Test
    void kernelPicksTheSamplersTokenOnEveryRow() throws Exception {
        final Random rnd = new Random(2024);
        try (CudaDevice device = CudaDevice.open(0); CudaStream stream = new CudaStream()) {
            final SamplingKernel kernel = new SamplingKernel(device);
            agree(kernel, stream, rnd, 96, 32000, 3f);
            agree(kernel, stream, rnd, 8, 151936, 4f);
        }
    }

    private static void agree(SamplingKernel kernel, CudaStream stream, Random rnd, int rows, int vocab, float scale) {
        final float[] logits = new float[rows * vocab];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) rnd.nextGaussian() * scale;
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
