package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.splitserve.kernels.cpu.CpuOps;

/**
 * GPU sampling: argmax equals the CPU argmax; filtered draws stay inside the top-k / top-p / min-p set computed
 * on the host; frequencies over many seeds match the filtered, renormalised distribution; a seed and counter
 * reproduce a draw, and the kernel advances the counter (so graph replays draw afresh).
 */
@GpuTest
class SamplingKernelTest {
    private final Random rnd = new Random();

    /** Device-side parameters for a batch. */
    private static final class Params {
        final float[] temperature, topP, minP;
        final int[] topK;
        final long[] seeds;

        Params(int batch) {
            temperature = new float[batch];
            topP = new float[batch];
            minP = new float[batch];
            topK = new int[batch];
            seeds = new long[batch];
            Arrays.fill(topP, 1f);
        }
    }

    private int[] sample(Gpu.Scope s, SamplingKernel kernel, float[] logits, int batch, int vocab, Params p,
                         DeviceBuffer counters) {
        DeviceBuffer out = Gpu.poisoned(s, 4L * batch);
        kernel.sample(Gpu.stream(), out.address(), Gpu.floats(s, logits).address(), vocab, vocab, batch,
                Gpu.floats(s, p.temperature).address(), Gpu.ints(s, p.topK).address(), Gpu.floats(s, p.topP).address(),
                Gpu.floats(s, p.minP).address(), Gpu.longs(s, p.seeds).address(), counters.address());
        return Gpu.readInts(out, batch);
    }

    private static float[] randomLogits(Random rnd, int n, float scale) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextGaussian() * scale;
        }
        return f;
    }

    @Test
    void greedyIsTheCpuArgmax() throws Exception {
        SamplingKernel kernel = new SamplingKernel(Gpu.device());
        int batch = 9, vocab = 151936;
        float[] logits = randomLogits(rnd, batch * vocab, 4f);
        logits[3 * vocab + vocab - 1] = 100f;  // winner at the very end of a row
        logits[5 * vocab] = 100f;              // and at the very start
        try (Gpu.Scope s = new Gpu.Scope()) {
            int[] got = sample(s, kernel, logits, batch, vocab, new Params(batch), Gpu.longs(s, new long[batch]));
            int[] ref = new int[batch];
            CpuOps.argmaxRows(logits, batch, vocab, ref);
            assertArrayEquals(ref, got);
        }
    }

    /** Host computation of the kept set: top-k, then top-p over the top-k set, then min-p. */
    private static boolean[] keptSet(float[] logits, int off, int vocab, float temperature, int topK, float topP,
                                     float minP) {
        Integer[] order = new Integer[vocab];
        for (int i = 0; i < vocab; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(logits[off + b], logits[off + a]));
        double max = logits[off + order[0]];
        int k = topK > 0 && topK < vocab ? topK : vocab;
        double total = 0;
        for (int r = 0; r < k; r++) {
            total += Math.exp((logits[off + order[r]] - max) / temperature);
        }
        boolean[] kept = new boolean[vocab];
        double mass = 0;
        for (int r = 0; r < k; r++) {
            double w = Math.exp((logits[off + order[r]] - max) / temperature);
            boolean inNucleus = topP >= 1 || mass < topP * total;
            mass += w;
            kept[order[r]] = inNucleus && w >= minP;
        }
        return kept;
    }

    @Test
    void filteredDrawsStayInsideTheKeptSet() throws Exception {
        SamplingKernel kernel = new SamplingKernel(Gpu.device());
        int batch = 24, vocab = 32000;
        float[] logits = randomLogits(rnd, batch * vocab, 3f);
        Params p = new Params(batch);
        for (int b = 0; b < batch; b++) {
            p.temperature[b] = 0.3f + 0.1f * (b % 10);
            p.topK[b] = b % 3 == 0 ? 1 + rnd.nextInt(50) : 0;
            p.topP[b] = b % 3 == 1 ? 0.5f + 0.4f * rnd.nextFloat() : 1f;
            p.minP[b] = b % 4 == 2 ? 0.05f + 0.2f * rnd.nextFloat() : 0f;
            p.seeds[b] = rnd.nextLong();
        }
        try (Gpu.Scope s = new Gpu.Scope()) {
            DeviceBuffer counters = Gpu.longs(s, new long[batch]);
            for (int step = 0; step < 4; step++) {
                int[] got = sample(s, kernel, logits, batch, vocab, p, counters);
                for (int b = 0; b < batch; b++) {
                    boolean[] kept = keptSet(logits, b * vocab, vocab, p.temperature[b], p.topK[b], p.topP[b], p.minP[b]);
                    assertTrue(got[b] >= 0 && got[b] < vocab && kept[got[b]], "row " + b + " (T " + p.temperature[b]
                            + " k " + p.topK[b] + " p " + p.topP[b] + " min-p " + p.minP[b] + ") drew " + got[b]);
                }
            }
            long[] c = new long[batch];
            counters.copyTo(c);
            for (long v : c) {
                assertEquals(4, v, "the kernel advances each counter once per call");
            }
        }
    }

    @Test
    void frequenciesMatchTheFilteredDistribution() throws Exception {
        SamplingKernel kernel = new SamplingKernel(Gpu.device());
        int vocab = 10, batch = 20000;
        float[] row = {2.0f, 1.6f, 1.5f, 1.0f, 0.5f, 0.2f, -0.5f, -1f, -3f, 2.2f};
        float temperature = 0.8f, topP = 0.93f, minP = 0.04f;
        int topK = 7;
        boolean[] kept = keptSet(row, 0, vocab, temperature, topK, topP, minP);
        double[] expected = new double[vocab];
        double z = 0;
        for (int i = 0; i < vocab; i++) {
            expected[i] = kept[i] ? Math.exp(row[i] / temperature) : 0;
            z += expected[i];
        }
        float[] logits = new float[batch * vocab];
        Params p = new Params(batch);
        for (int b = 0; b < batch; b++) {
            System.arraycopy(row, 0, logits, b * vocab, vocab);
            p.temperature[b] = temperature;
            p.topK[b] = topK;
            p.topP[b] = topP;
            p.minP[b] = minP;
            p.seeds[b] = 1000003L * b + 17;
        }
        try (Gpu.Scope s = new Gpu.Scope()) {
            int[] got = sample(s, kernel, logits, batch, vocab, p, Gpu.longs(s, new long[batch]));
            int[] counts = new int[vocab];
            for (int t : got) {
                counts[t]++;
            }
            for (int i = 0; i < vocab; i++) {
                double pi = expected[i] / z;
                double sigma = Math.sqrt(batch * pi * (1 - pi));
                assertTrue(Math.abs(counts[i] - batch * pi) <= 5 * sigma + 1, "token " + i + ": drawn " + counts[i]
                        + " times, expected " + batch * pi + " (counts " + Arrays.toString(counts) + ")");
            }
        }
    }

    @Test
    void seedAndCounterReproduceADrawAndReplaysDrawAfresh() throws Exception {
        SamplingKernel kernel = new SamplingKernel(Gpu.device());
        CudaStream stream = Gpu.stream();
        int batch = 32, vocab = 1000;
        float[] logits = randomLogits(rnd, batch * vocab, 0.5f);
        Params p = new Params(batch);
        Arrays.fill(p.temperature, 1f);
        for (int b = 0; b < batch; b++) {
            p.seeds[b] = rnd.nextLong();
        }
        try (Gpu.Scope s = new Gpu.Scope()) {
            int[] a = sample(s, kernel, logits, batch, vocab, p, Gpu.longs(s, new long[batch]));
            int[] b = sample(s, kernel, logits, batch, vocab, p, Gpu.longs(s, new long[batch]));
            assertArrayEquals(a, b, "same seeds and counters must draw the same tokens");

            DeviceBuffer out = Gpu.poisoned(s, 4L * batch);
            DeviceBuffer counters = Gpu.longs(s, new long[batch]);
            DeviceBuffer l = Gpu.floats(s, logits), t = Gpu.floats(s, p.temperature), k = Gpu.ints(s, p.topK);
            DeviceBuffer tp = Gpu.floats(s, p.topP), mp = Gpu.floats(s, p.minP), sd = Gpu.longs(s, p.seeds);
            try (CudaGraph graph = CudaGraph.capture(stream, () -> kernel.sample(stream, out.address(), l.address(),
                    vocab, vocab, batch, t.address(), k.address(), tp.address(), mp.address(), sd.address(),
                    counters.address()))) {
                graph.replay(stream);
                int[] first = Gpu.readInts(out, batch);
                assertArrayEquals(a, first, "a replay at counter 0 draws what the eager launch drew");
                graph.replay(stream);
                int[] second = Gpu.readInts(out, batch);
                assertNotEquals(Arrays.toString(first), Arrays.toString(second), "the next replay must draw afresh");
            }
        }
    }
}
