package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;

import io.splitserve.kernels.cpu.CpuOps;

/** cuBLAS through the JNI bridge: bf16 GEMM with fp32 accumulation (+ bias, fp32 output) against the CPU matmul. */
@GpuTest
class MatmulOpTest {
    private final Random rnd = new Random();

    @Test
    void gemmMatchesCpuMatmulOnModelShapes() throws Exception {
        CudaDevice device = Gpu.device();
        try (Cublas cublas = new Cublas(Gpu.stream())) {
            assertTrue(cublas.library().startsWith("libcublas.so."), "loaded " + cublas.library());
            assertTrue(cublas.version() > 0, "cuBLAS version " + cublas.version());
            MatmulOp op = new MatmulOp(cublas, new ActivationKernels(device));
            int[][] shapes = {{1, 1536, 1536, 1}, {40, 256, 1536, 1}, {256, 2048, 1536, 0}, {3, 4096, 4096, 0},
                {17, 4000, 896, 2}};
            for (int[] shape : shapes) {
                int m = shape[0], n = shape[1], k = shape[2], mode = shape[3];
                try (Gpu.Scope s = new Gpu.Scope()) {
                    float[] x = Gpu.randomBf16(rnd, m * k, 1f), w = Gpu.randomBf16(rnd, n * k, 0.05f);
                    float[] bias = mode == 1 ? Gpu.randomBf16(rnd, n, 0.5f) : null;
                    float[] ref = new float[m * n];
                    CpuOps.matmul(x, m, k, w, n, bias, ref);
                    DeviceBuffer xd = Gpu.bf16(s, x), wd = Gpu.bf16(s, w);
                    String what = "gemm " + m + "x" + n + "x" + k + (mode == 1 ? " +bias" : mode == 2 ? " fp32 out" : "");
                    if (mode == 2) {
                        DeviceBuffer y = Gpu.poisoned(s, 4L * m * n);
                        op.applyFloat(y.address(), xd.address(), wd.address(), m, n, k);
                        Gpu.assertClose(what, ref, Gpu.readFloats(y, m * n), 1e-3);
                    } else {
                        DeviceBuffer y = Gpu.poisoned(s, 2L * m * n);
                        op.apply(Gpu.stream(), y.address(), xd.address(), wd.address(),
                                bias == null ? 0 : Gpu.bf16(s, bias).address(), m, n, k);
                        Gpu.assertClose(what, ref, Gpu.readBf16(y, m * n), 1e-2);
                    }
                }
            }
        }
    }

    @Test
    void gemmIsCapturableInAGraph() throws Exception {
        CudaStream stream = Gpu.stream();
        Gpu.device();
        int m = 8, n = 512, k = 256;
        try (Cublas cublas = new Cublas(stream); Gpu.Scope s = new Gpu.Scope()) {
            DeviceBuffer xd = s.add(DeviceBuffer.allocate(2L * m * k));
            float[] w = Gpu.randomBf16(rnd, n * k, 0.1f);
            DeviceBuffer wd = Gpu.bf16(s, w);
            DeviceBuffer y = s.add(DeviceBuffer.allocate(2L * m * n));
            try (CudaGraph graph = CudaGraph.capture(stream,
                    () -> cublas.matmulTransposed(y.address(), Cublas.BF16, xd.address(), wd.address(), m, n, k))) {
                for (int round = 0; round < 2; round++) {
                    float[] x = Gpu.randomBf16(rnd, m * k, 1f);
                    xd.copyFrom(Bf16.fromFloats(x));
                    y.fillBytes((byte) 0xff, stream);
                    graph.replay(stream);
                    float[] ref = new float[m * n];
                    CpuOps.matmul(x, m, k, w, n, null, ref);
                    Gpu.assertClose("graph-replayed gemm round " + round, ref, Gpu.readBf16(y, m * n), 1e-2);
                }
            }
        }
    }
}
