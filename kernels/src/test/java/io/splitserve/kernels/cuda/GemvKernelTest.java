package io.splitserve.kernels.cuda;

import java.util.Random;

import org.junit.jupiter.api.Test;

import io.splitserve.kernels.cpu.CpuOps;

/** The few-row linear layer against the CPU matmul: every row count 1-8, with and without bias, bf16 and fp32 out. */
@GpuTest
class GemvKernelTest {
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
                    gemv.apply(Gpu.stream(), y16.address(), xd.address(), wd.address(), b, m, n, k);
                    Gpu.assertClose(what, ref, Gpu.readBf16(y16, m * n), 1e-2);
                    DeviceBuffer y32 = Gpu.poisoned(s, 4L * m * n);
                    gemv.applyFloat(Gpu.stream(), y32.address(), xd.address(), wd.address(), b, m, n, k);
                    Gpu.assertClose(what + " fp32 out", ref, Gpu.readFloats(y32, m * n), 1e-4);
                }
            }
        }
    }
}
