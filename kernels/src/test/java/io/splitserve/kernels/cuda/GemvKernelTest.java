package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.splitserve.kernels.cpu.CpuOps;

/**
 * The few-row linear layer against the CPU matmul (every row count 1-8, with and without bias, bf16 and fp32 out),
 * and every launch variant against the one-warp-per-column kernel: unsplit variants bit for bit, split-K variants
 * within fp32 reduction-order rounding and bit for bit run to run.
 */
@GpuTest
class GemvKernelTest {
    private static final List<GemvVariant> VARIANTS = List.of(new GemvVariant(8, 1, 1), new GemvVariant(4, 1, 2),
            new GemvVariant(8, 1, 2), new GemvVariant(4, 2, 1), new GemvVariant(8, 4, 1), new GemvVariant(8, 2, 2),
            new GemvVariant(8, 8, 1));
    private final Random rnd = new Random();

    @Test
    void gemvMatchesCpuMatmulForEveryRowCount() throws Exception {
        GemvKernel gemv = new GemvKernel(Gpu.device());
        int[][] shapes = {{1536, 1536}, {2056, 256}, {8, 8960}, {1000, 8}};
        for (int m = 1; m <= GemvKernel.MAX_ROWS; m++) {
            for (int[] shape : shapes) {
                int n = shape[0], k = shape[1];
                boolean withBias = (m + n) % 2 == 0;
                try (Gpu.Scope s = new Gpu.Scope()) {
                    float[] x = Gpu.randomBf16(rnd, m * k, 1f), w = Gpu.randomBf16(rnd, n * k, 0.05f);
                    float[] bias = withBias ? Gpu.randomBf16(rnd, n, 0.5f) : null;
                    float[] ref = new float[m * n];
                    CpuOps.matmul(x, m, k, w, n, bias, ref);
                    DeviceBuffer xd = Gpu.bf16(s, x), wd = Gpu.bf16(s, w);
                    long b = bias == null ? 0 : Gpu.bf16(s, bias).address();
                    String what = "gemv " + m + "x" + n + "x" + k + (withBias ? " +bias" : "");
                    DeviceBuffer y16 = Gpu.poisoned(s, 2L * m * n);
                    gemv.apply(Gpu.stream(), y16.address(), xd.address(), wd.address(), b, m, n, k,
                            GemvVariant.ONE_WARP_PER_COLUMN);
                    Gpu.assertClose(what, ref, Gpu.readBf16(y16, m * n), 1e-2);
                    DeviceBuffer y32 = Gpu.poisoned(s, 4L * m * n);
                    gemv.applyFloat(Gpu.stream(), y32.address(), xd.address(), wd.address(), b, m, n, k,
                            GemvVariant.ONE_WARP_PER_COLUMN);
                    Gpu.assertClose(what + " fp32 out", ref, Gpu.readFloats(y32, m * n), 1e-4);
                }
            }
        }
    }

    @Test
    void everyVariantMatchesOneWarpPerColumn() throws Exception {
        GemvKernel gemv = new GemvKernel(Gpu.device());
        // odd column counts leave partial blocks and a clamped second column
        int[][] shapes = {{2048, 1536}, {37, 8960}, {1, 264}, {1027, 4096}};
        for (int m : new int[] {1, 2, 3, 5, 8}) {
            for (int[] shape : shapes) {
                int n = shape[0], k = shape[1];
                try (Gpu.Scope s = new Gpu.Scope()) {
                    float[] x = Gpu.randomBf16(rnd, m * k, 1f), w = Gpu.randomBf16(rnd, n * k, 0.05f);
                    DeviceBuffer xd = Gpu.bf16(s, x), wd = Gpu.bf16(s, w), bias = Gpu.bf16(s, Gpu.randomBf16(rnd, n, 0.5f));
                    DeviceBuffer base = Gpu.poisoned(s, 4L * m * n);
                    gemv.applyFloat(Gpu.stream(), base.address(), xd.address(), wd.address(), bias.address(), m, n, k,
                            GemvVariant.ONE_WARP_PER_COLUMN);
                    float[] expected = Gpu.readFloats(base, m * n);
                    for (GemvVariant v : VARIANTS) {
                        String what = "gemv " + v + " " + m + "x" + n + "x" + k;
                        DeviceBuffer first = Gpu.poisoned(s, 4L * m * n), second = Gpu.poisoned(s, 4L * m * n);
                        gemv.applyFloat(Gpu.stream(), first.address(), xd.address(), wd.address(), bias.address(), m, n,
                                k, v);
                        gemv.applyFloat(Gpu.stream(), second.address(), xd.address(), wd.address(), bias.address(), m,
                                n, k, v);
                        float[] got = Gpu.readFloats(first, m * n);
                        assertArrayEquals(got, Gpu.readFloats(second, m * n), 0f, what + ": the same run to run");
                        if (v.split() == 1) {
                            assertArrayEquals(expected, got, 0f, what + ": unsplit, so the same sums");
                        } else {
                            Gpu.assertClose(what, expected, got, 1e-6);
                        }
                        DeviceBuffer y16 = Gpu.poisoned(s, 2L * m * n), base16 = Gpu.poisoned(s, 2L * m * n);
                        gemv.apply(Gpu.stream(), y16.address(), xd.address(), wd.address(), bias.address(), m, n, k, v);
                        gemv.apply(Gpu.stream(), base16.address(), xd.address(), wd.address(), bias.address(), m, n, k,
                                GemvVariant.ONE_WARP_PER_COLUMN);
                        if (v.split() == 1) {
                            assertArrayEquals(Gpu.readBf16(base16, m * n), Gpu.readBf16(y16, m * n), 0f, what + " bf16");
                        } else {
                            Gpu.assertClose(what + " bf16", Gpu.readBf16(base16, m * n), Gpu.readBf16(y16, m * n), 1e-2);
                        }
                    }
                }
            }
        }
    }
}
