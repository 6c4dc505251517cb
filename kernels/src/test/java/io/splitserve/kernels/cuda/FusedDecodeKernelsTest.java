package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.splitserve.kernels.cpu.CpuOps;
import io.splitserve.model.RopeFrequencies;

/**
 * The fused decode kernels against the CPU reference ops they stand for and, bit for bit, against the unfused
 * kernels they replace: RoPE + KV write (odd token counts, shuffled slots, a padding token, NaN-poisoned pools) and
 * the SwiGLU GEMV (every row count 1-8, odd widths, with and without bias, NaN-poisoned outputs). The one-launch
 * decode attention is covered in {@link AttentionKernelsTest}.
 */
@GpuTest
class FusedDecodeKernelsTest {
    private static final double TOL = 1e-2;
    private final Random rnd = new Random();

    @Test
    void ropeKvWriteEqualsRopeThenKvWriteAndTheCpuOps() throws Exception {
        CudaDevice device = Gpu.device();
        RopeKvWriteKernel fused = new RopeKvWriteKernel(device);
        RopeKernel rope = new RopeKernel(device);
        KvWriteKernel kvWrite = new KvWriteKernel(device);
        // tokens, q heads, kv heads, head dim, pool slots
        int[][] shapes = {{1, 16, 8, 128, 16}, {5, 12, 2, 128, 64}, {33, 14, 2, 64, 7 * 16}, {3, 32, 8, 64, 3}};
        for (int[] shape : shapes) {
            int tokens = shape[0], qHeads = shape[1], kvHeads = shape[2], hd = shape[3], slots = shape[4];
            int qWidth = qHeads * hd, kvWidth = kvHeads * hd, stride = qWidth + 2 * kvWidth;
            float[] invFreq = RopeFrequencies.standard(hd, 1000000);
            int[] positions = rnd.ints(tokens, 0, 9000).toArray();
            int[] slotMapping = Arrays.copyOf(TestPages.shuffled(rnd, slots), tokens);
            if (tokens > 2) {
                slotMapping[1] = -1;  // a padding token writes nothing
            }
            String what = "rope+kv write " + tokens + "x" + qHeads + "/" + kvHeads + "x" + hd;
            try (Gpu.Scope s = new Gpu.Scope()) {
                float[] qkv = Gpu.randomBf16(rnd, tokens * stride, 2f);
                DeviceBuffer pos = Gpu.ints(s, positions), slotBuf = Gpu.ints(s, slotMapping);
                DeviceBuffer freq = Gpu.floats(s, invFreq);
                DeviceBuffer rowsFused = Gpu.bf16(s, qkv), rowsPlain = Gpu.bf16(s, qkv);
                DeviceBuffer kFused = Gpu.poisoned(s, 2L * slots * kvWidth), vFused = Gpu.poisoned(s, 2L * slots * kvWidth);
                DeviceBuffer kPlain = Gpu.poisoned(s, 2L * slots * kvWidth), vPlain = Gpu.poisoned(s, 2L * slots * kvWidth);

                fused.apply(Gpu.stream(), rowsFused.address(), stride, qHeads, kvHeads, kFused.address(),
                        vFused.address(), slotBuf.address(), pos.address(), freq.address(), tokens, hd);
                rope.apply(Gpu.stream(), rowsPlain.address(), stride, qHeads, rowsPlain.address(2L * qWidth), stride,
                        kvHeads, pos.address(), freq.address(), tokens, hd);
                kvWrite.write(Gpu.stream(), kPlain.address(), vPlain.address(), rowsPlain.address(2L * qWidth),
                        rowsPlain.address(2L * (qWidth + kvWidth)), stride, slotBuf.address(), tokens, kvWidth);

                float[] gotRows = Gpu.readBf16(rowsFused, tokens * stride);
                float[] plainRows = Gpu.readBf16(rowsPlain, tokens * stride);
                float[] gotK = Gpu.readBf16(kFused, slots * kvWidth), gotV = Gpu.readBf16(vFused, slots * kvWidth);
                assertArrayEquals(slice(plainRows, tokens, stride, 0, qWidth), slice(gotRows, tokens, stride, 0, qWidth),
                        0f, what + ": Q as rope_neox leaves it");
                assertArrayEquals(Gpu.readBf16(kPlain, slots * kvWidth), gotK, 0f, what + ": K pages as kv_write");
                assertArrayEquals(Gpu.readBf16(vPlain, slots * kvWidth), gotV, 0f, what + ": V pages as kv_write");
                assertArrayEquals(slice(qkv, tokens, stride, qWidth, 2 * kvWidth),
                        slice(gotRows, tokens, stride, qWidth, 2 * kvWidth), 0f, what + ": K and V rows left as they came");

                float[] refQ = slice(qkv, tokens, stride, 0, qWidth);
                float[] refK = slice(qkv, tokens, stride, qWidth, kvWidth);
                float[] refV = slice(qkv, tokens, stride, qWidth + kvWidth, kvWidth);
                CpuOps.rope(refQ, tokens, qHeads, hd, positions, invFreq);
                CpuOps.rope(refK, tokens, kvHeads, hd, positions, invFreq);
                Gpu.assertClose(what + " q", refQ, slice(gotRows, tokens, stride, 0, qWidth), TOL);
                float[] refKPool = new float[slots * kvWidth], refVPool = new float[slots * kvWidth];
                Arrays.fill(refKPool, Float.NaN);
                Arrays.fill(refVPool, Float.NaN);
                for (int t = 0; t < tokens; t++) {
                    if (slotMapping[t] >= 0) {
                        System.arraycopy(refK, t * kvWidth, refKPool, slotMapping[t] * kvWidth, kvWidth);
                        System.arraycopy(refV, t * kvWidth, refVPool, slotMapping[t] * kvWidth, kvWidth);
                    }
                }
                assertPoolClose(what + " K pages", refKPool, gotK);
                assertArrayEquals(refVPool, gotV, 0f, what + " V pages");
            }
        }
    }

    /** Written slots match the reference; slots the reference leaves NaN (unwritten) stay poisoned. */
    private static void assertPoolClose(String what, float[] ref, float[] got) {
        int written = 0;
        for (int i = 0; i < ref.length; i++) {
            assertEquals(Float.isNaN(ref[i]), Float.isNaN(got[i]), what + ": element " + i + " written where it"
                    + " should not be, or not written");
            written += Float.isNaN(ref[i]) ? 0 : 1;
        }
        float[] r = new float[written], g = new float[written];
        for (int i = 0, j = 0; i < ref.length; i++) {
            if (!Float.isNaN(ref[i])) {
                r[j] = ref[i];
                g[j++] = got[i];
            }
        }
        assertTrue(written > 0, what + ": nothing to compare");
        Gpu.assertClose(what, r, g, TOL);
    }

    @Test
    void swiGluGemvEqualsGemvThenSiluMulAndTheCpuOps() throws Exception {
        CudaDevice device = Gpu.device();
        GemvKernel gemv = new GemvKernel(device);
        ActivationKernels activations = new ActivationKernels(device);
        // intermediate size, hidden size (the reduction length)
        int[][] shapes = {{8960, 1536}, {37, 264}, {1, 8}, {96, 2056}};
        for (int m = 1; m <= GemvKernel.MAX_ROWS; m++) {
            for (int[] shape : shapes) {
                int inter = shape[0], k = shape[1];
                boolean withBias = (m + inter) % 2 == 1;
                String what = "swiglu gemv " + m + "x" + inter + "x" + k + (withBias ? " +bias" : "");
                try (Gpu.Scope s = new Gpu.Scope()) {
                    float[] x = Gpu.randomBf16(rnd, m * k, 1f), w = Gpu.randomBf16(rnd, 2 * inter * k, 0.08f);
                    float[] bias = withBias ? Gpu.randomBf16(rnd, 2 * inter, 0.5f) : null;
                    DeviceBuffer xd = Gpu.bf16(s, x), wd = Gpu.bf16(s, w);
                    long b = bias == null ? 0 : Gpu.bf16(s, bias).address();
                    DeviceBuffer y = Gpu.poisoned(s, 2L * m * inter);
                    gemv.applySwiGlu(Gpu.stream(), y.address(), xd.address(), wd.address(), b, m, inter, k);
                    float[] got = Gpu.readBf16(y, m * inter);

                    float[] gateUp = new float[m * 2 * inter], ref = new float[m * inter];
                    CpuOps.matmul(x, m, k, w, 2 * inter, bias, gateUp);
                    CpuOps.siluMul(gateUp, m, inter, ref);
                    Gpu.assertClose(what, ref, got, TOL);

                    if (inter % 8 == 0) {  // silu_and_mul's 16-byte rows need a multiple of 8
                        DeviceBuffer gu = Gpu.poisoned(s, 4L * m * inter);
                        DeviceBuffer plain = Gpu.poisoned(s, 2L * m * inter);
                        gemv.apply(Gpu.stream(), gu.address(), xd.address(), wd.address(), b, m, 2 * inter, k);
                        activations.siluAndMul(Gpu.stream(), plain.address(), gu.address(), m, inter);
                        assertArrayEquals(Gpu.readBf16(plain, m * inter), got, 0f, what + ": as gemv + silu_and_mul");
                    }
                }
            }
        }
    }

    private static float[] slice(float[] rows, int count, int stride, int offset, int width) {
        return ElementwiseKernelsTest.slice(rows, count, stride, offset, width);
    }
}
