package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;

import org.junit.jupiter.api.Test;

import io.splitserve.kernels.cpu.CpuOps;
import io.splitserve.model.RopeFrequencies;

/** Embedding, the RMSNorm family, RoPE, SiLU-and-mul, bias add and KV write against the CPU reference ops. */
@GpuTest
class ElementwiseKernelsTest {
    private static final double TOL = 1e-2;
    private final Random rnd = new Random();

    @Test
    void embeddingGathersRows() throws Exception {
        CudaDevice device = Gpu.device();
        EmbeddingKernel kernel = new EmbeddingKernel(device);
        for (int[] shape : new int[][] {{1, 64, 10}, {37, 1536, 1000}, {300, 4096, 5000}}) {
            int tokens = shape[0], hidden = shape[1], vocab = shape[2];
            try (Gpu.Scope s = new Gpu.Scope()) {
                float[] table = Gpu.randomBf16(rnd, vocab * hidden, 1f);
                int[] ids = rnd.ints(tokens, 0, vocab).toArray();
                DeviceBuffer out = Gpu.poisoned(s, 2L * tokens * hidden);
                kernel.gather(Gpu.stream(), out.address(), Gpu.bf16(s, table).address(), Gpu.ints(s, ids).address(),
                        tokens, hidden, vocab);
                float[] ref = new float[tokens * hidden];
                CpuOps.embed(ids, tokens, table, hidden, ref);
                assertArrayEquals(ref, Gpu.readBf16(out, tokens * hidden), 0f, "embedding " + tokens + "x" + hidden);
            }
        }
    }

    @Test
    void rmsNormAndFusedAddMatchCpu() throws Exception {
        RmsNormKernels kernels = new RmsNormKernels(Gpu.device());
        for (int[] shape : new int[][] {{1, 64}, {40, 1536}, {129, 4096}, {3, 8192}}) {
            int rows = shape[0], dim = shape[1];
            try (Gpu.Scope s = new Gpu.Scope()) {
                float[] x = Gpu.randomBf16(rnd, rows * dim, 3f);
                float[] w = Gpu.randomBf16(rnd, dim, 1f);
                float[] residual = Gpu.randomBf16(rnd, rows * dim, 3f);
                DeviceBuffer xd = Gpu.bf16(s, x), wd = Gpu.bf16(s, w), rd = Gpu.bf16(s, residual);
                DeviceBuffer out = Gpu.poisoned(s, 2L * rows * dim);
                kernels.rmsNorm(Gpu.stream(), out.address(), xd.address(), wd.address(), rows, dim, 1e-6f);
                float[] ref = new float[rows * dim];
                CpuOps.rmsNorm(x, w, 1e-6f, rows, dim, ref);
                Gpu.assertClose("rmsnorm " + rows + "x" + dim, ref, Gpu.readBf16(out, rows * dim), TOL);

                DeviceBuffer out2 = Gpu.poisoned(s, 2L * rows * dim);
                kernels.addRmsNorm(Gpu.stream(), out2.address(), rd.address(), xd.address(), wd.address(), rows, dim,
                        1e-5f);
                float[] refResidual = residual.clone();
                float[] ref2 = new float[rows * dim];
                CpuOps.addRmsNorm(x, refResidual, w, 1e-5f, rows, dim, ref2);
                Gpu.assertClose("add+rmsnorm out " + rows + "x" + dim, ref2, Gpu.readBf16(out2, rows * dim), TOL);
                Gpu.assertClose("add+rmsnorm residual", refResidual, Gpu.readBf16(rd, rows * dim), TOL);
            }
        }
    }

    @Test
    void headNormAndRopeInsideFusedQkv() throws Exception {
        CudaDevice device = Gpu.device();
        RmsNormKernels norms = new RmsNormKernels(device);
        RopeKernel rope = new RopeKernel(device);
        int[][] shapes = {{5, 16, 8, 128}, {70, 12, 2, 128}, {33, 14, 2, 64}, {2, 32, 8, 64}};
        for (int[] shape : shapes) {
            int tokens = shape[0], qHeads = shape[1], kvHeads = shape[2], hd = shape[3];
            int stride = (qHeads + 2 * kvHeads) * hd;
            boolean llama3 = hd == 128 && qHeads == 16;
            float[] invFreq = llama3 ? RopeFrequencies.llama3(hd, 500000, 8, 1, 4, 8192)
                    : RopeFrequencies.standard(hd, 1000000);
            try (Gpu.Scope s = new Gpu.Scope()) {
                float[] qkv = Gpu.randomBf16(rnd, tokens * stride, 2f);
                float[] qw = Gpu.randomBf16(rnd, hd, 1f), kw = Gpu.randomBf16(rnd, hd, 1f);
                int[] positions = rnd.ints(tokens, 0, 9000).toArray();
                DeviceBuffer d = Gpu.bf16(s, qkv);
                long q = d.address(), k = d.address(2L * qHeads * hd);
                norms.headRmsNorm(Gpu.stream(), q, stride, tokens, qHeads, Gpu.bf16(s, qw).address(), hd, 1e-6f);
                norms.headRmsNorm(Gpu.stream(), k, stride, tokens, kvHeads, Gpu.bf16(s, kw).address(), hd, 1e-6f);
                rope.apply(Gpu.stream(), q, stride, qHeads, k, stride, kvHeads, Gpu.ints(s, positions).address(),
                        Gpu.floats(s, invFreq).address(), tokens, hd);
                float[] got = Gpu.readBf16(d, tokens * stride);

                float[] refQ = slice(qkv, tokens, stride, 0, qHeads * hd);
                float[] refK = slice(qkv, tokens, stride, qHeads * hd, kvHeads * hd);
                CpuOps.headRmsNorm(refQ, tokens, qHeads, hd, qw, 1e-6f);
                CpuOps.headRmsNorm(refK, tokens, kvHeads, hd, kw, 1e-6f);
                CpuOps.rope(refQ, tokens, qHeads, hd, positions, invFreq);
                CpuOps.rope(refK, tokens, kvHeads, hd, positions, invFreq);
                String what = "qk-norm + rope " + tokens + "x" + qHeads + "/" + kvHeads + "x" + hd;
                Gpu.assertClose(what + " q", refQ, slice(got, tokens, stride, 0, qHeads * hd), TOL);
                Gpu.assertClose(what + " k", refK, slice(got, tokens, stride, qHeads * hd, kvHeads * hd), TOL);
                int vOff = (qHeads + kvHeads) * hd;
                assertArrayEquals(slice(qkv, tokens, stride, vOff, kvHeads * hd),
                        slice(got, tokens, stride, vOff, kvHeads * hd), 0f, what + ": V must stay untouched");
            }
        }
    }

    @Test
    void siluMulAndBiasAdd() throws Exception {
        ActivationKernels kernels = new ActivationKernels(Gpu.device());
        for (int[] shape : new int[][] {{1, 8960}, {40, 8960}, {257, 14336}}) {
            int rows = shape[0], inter = shape[1];
            try (Gpu.Scope s = new Gpu.Scope()) {
                float[] gateUp = Gpu.randomBf16(rnd, rows * 2 * inter, 4f);
                DeviceBuffer out = Gpu.poisoned(s, 2L * rows * inter);
                kernels.siluAndMul(Gpu.stream(), out.address(), Gpu.bf16(s, gateUp).address(), rows, inter);
                float[] ref = new float[rows * inter];
                CpuOps.siluMul(gateUp, rows, inter, ref);
                Gpu.assertClose("silu-mul " + rows + "x" + inter, ref, Gpu.readBf16(out, rows * inter), TOL);

                float[] y = Gpu.randomBf16(rnd, rows * inter, 2f), bias = Gpu.randomBf16(rnd, inter, 2f);
                DeviceBuffer yd = Gpu.bf16(s, y);
                kernels.biasAdd(Gpu.stream(), yd.address(), Gpu.bf16(s, bias).address(), rows, inter);
                float[] refY = y.clone();
                for (int r = 0; r < rows; r++) {
                    for (int j = 0; j < inter; j++) {
                        refY[r * inter + j] += bias[j];
                    }
                }
                Gpu.assertClose("bias add", refY, Gpu.readBf16(yd, rows * inter), TOL);
            }
        }
    }

    @Test
    void kvWriteScattersThroughShuffledSlots() throws Exception {
        KvWriteKernel kernel = new KvWriteKernel(Gpu.device());
        for (int[] shape : new int[][] {{1, 2, 64, 16, 1}, {50, 8, 128, 8, 16}, {700, 2, 128, 40, 256}}) {
            int tokens = shape[0], kvHeads = shape[1], hd = shape[2], pages = shape[3], pageSize = shape[4];
            int width = kvHeads * hd, slots = pages * pageSize;
            int[] slotMapping = java.util.Arrays.copyOf(TestPages.shuffled(rnd, slots), tokens);
            try (Gpu.Scope s = new Gpu.Scope()) {
                float[] kPool = Gpu.randomBf16(rnd, slots * width, 1f), vPool = Gpu.randomBf16(rnd, slots * width, 1f);
                int stride = 3 * width;  // K and V rows inside a fused [q | k | v] buffer with q as wide as k
                float[] kv = Gpu.randomBf16(rnd, tokens * stride, 1f);
                DeviceBuffer kd = Gpu.bf16(s, kPool), vd = Gpu.bf16(s, vPool), src = Gpu.bf16(s, kv);
                kernel.write(Gpu.stream(), kd.address(), vd.address(), src.address(2L * width),
                        src.address(4L * width), stride, Gpu.ints(s, slotMapping).address(), tokens, width);
                float[] refK = kPool.clone(), refV = vPool.clone();
                CpuOps.writeKv(slice(kv, tokens, stride, width, width), slice(kv, tokens, stride, 2 * width, width),
                        tokens, slotMapping, refK, refV, kvHeads, hd);
                assertArrayEquals(refK, Gpu.readBf16(kd, slots * width), 0f, "kv write K");
                assertArrayEquals(refV, Gpu.readBf16(vd, slots * width), 0f, "kv write V");
            }
        }
    }

    static float[] slice(float[] rows, int count, int stride, int offset, int width) {
        float[] out = new float[count * width];
        for (int r = 0; r < count; r++) {
            System.arraycopy(rows, r * stride + offset, out, r * width, width);
        }
        return out;
    }
}
