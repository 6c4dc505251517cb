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
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The kernel {@code sampling.cu} and the host {@link Sampler} pick the same token from the same logits for the same
 * (parameters, seed, counter), on every row: greedy, temperature, top-k (1 included), top-p and min-p, alone and
 * combined, at vocabulary sizes of a small and a real model. The logits are spread Gaussians, so the near-ties at
 * which float rounding may part the two sides (see {@link Sampler}) have negligible probability; no mismatch is
 * allowed. Rows of three shapes make the kernel take both of its paths, which the test checks on the host: peaked rows
 * (few tokens above the candidate floor, sampled from shared memory), flat rows (near-equal logits, more candidates
 * than {@link SamplingKernel#CANDIDATE_CAPACITY}, sampled from the whole row) and Gaussian rows (either, by
 * temperature). The kernel also advances every counter by one. (This test lives beside the sampler rather than in the
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
            agree(kernel, stream, rnd, 96, 32000, SamplerKernelAgreementGpuTest::gaussian, Path.EITHER);
            agree(kernel, stream, rnd, 8, 151936, SamplerKernelAgreementGpuTest::gaussian, Path.EITHER);
            agree(kernel, stream, rnd, 40, 151936, SamplerKernelAgreementGpuTest::peaked, Path.CANDIDATES);
            agree(kernel, stream, rnd, 40, 151936, SamplerKernelAgreementGpuTest::flat, Path.WHOLE_ROW);
        }
    }

    /** Which of the kernel's paths every sampled row of a shape takes. */
    private enum Path { CANDIDATES, WHOLE_ROW, EITHER }

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

    /** Sampled rows whose candidates the kernel holds in shared memory, and those it samples from the whole row. */
    private static int[] rowsByPath(float[] logits, int vocab, SamplingBatch batch, int rows) {
        final int[] byPath = new int[2];
        for (int r = 0; r < rows; r++) {
            final float temperature = batch.temperature(r);
            if (!(temperature > 0f)) {
                continue;
            }
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < vocab; i++) {
                max = Math.max(max, logits[r * vocab + i]);
            }
            final int floor = Sampler.orderedKey(max - Sampler.CANDIDATE_MARGIN * temperature);
            int candidates = 0;
            for (int i = 0; i < vocab; i++) {
                candidates += Sampler.orderedKey(logits[r * vocab + i]) >= floor ? 1 : 0;
            }
            byPath[candidates <= SamplingKernel.CANDIDATE_CAPACITY ? 0 : 1]++;
        }
        return byPath;
    }

    private static void agree(SamplingKernel kernel, CudaStream stream, Random rnd, int rows, int vocab,
                              RowShape shape, Path path) {
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
        final int[] byPath = rowsByPath(logits, vocab, batch, rows);
        if (path != Path.EITHER) {
            final int taken = path == Path.CANDIDATES ? 0 : 1;
            assertTrue(byPath[taken] > 0 && byPath[1 - taken] == 0, "every sampled row takes the " + path
                    + " path: " + byPath[0] + " rows from candidates, " + byPath[1] + " from the whole row");
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
