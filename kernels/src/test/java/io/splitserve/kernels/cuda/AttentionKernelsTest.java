package io.splitserve.kernels.cuda;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.splitserve.kernels.cpu.PagedAttention;

/**
 * Decode (flash-decoding) and prefill (FlashAttention-2) attention against the CPU paged attention: lengths
 * 1, 2, 63, 64, 65 and 1000+, mixed batches, page sizes 1 to 256, shuffled page tables, GQA groups 1 to 16,
 * head dims 64 and 128, and a decode step captured once and replayed with new lengths and block tables.
 */
@GpuTest
class AttentionKernelsTest {
    private static final double TOL = 1e-2;
    private final Random rnd = new Random();

    /** One attention problem with its inputs on the host and the CPU reference output. */
    private final class Problem {
        final int qHeads, kvHeads, hd, pageSize, batch, maxBlocks, poolPages, qTokens, qStride;
        final int[] qLens, kvLens, qStarts, tables;
        final float[] kPool, vPool, q;
        final float scale;

        Problem(int qHeads, int kvHeads, int hd, int pageSize, int[] qLens, int[] kvLens, int qPad) {
            this.qHeads = qHeads;
            this.kvHeads = kvHeads;
            this.hd = hd;
            this.pageSize = pageSize;
            this.qLens = qLens;
            this.kvLens = kvLens;
            this.batch = qLens.length;
            this.qStarts = new int[batch + 1];
            for (int s = 0; s < batch; s++) {
                qStarts[s + 1] = qStarts[s] + qLens[s];
            }
            this.qTokens = qStarts[batch];
            int longest = Arrays.stream(kvLens).max().orElse(1);
            this.maxBlocks = (longest + pageSize - 1) / pageSize + 1;
            this.poolPages = TestPages.pagesNeeded(kvLens, pageSize) + 3;
            this.tables = TestPages.blockTables(rnd, kvLens, pageSize, maxBlocks, poolPages);
            int slots = poolPages * pageSize * kvHeads * hd;
            this.kPool = Gpu.randomBf16(rnd, slots, 1f);
            this.vPool = Gpu.randomBf16(rnd, slots, 1f);
            this.qStride = qHeads * hd + qPad;
            this.q = Gpu.randomBf16(rnd, qTokens * qStride, 1.5f);
            this.scale = (float) (1 / Math.sqrt(hd));
        }

        float[] reference() {
            float[] dense = ElementwiseKernelsTest.slice(q, qTokens, qStride, 0, qHeads * hd);
            float[] out = new float[qTokens * qHeads * hd];
            int[] cpuTables = tables.clone();
            for (int i = 0; i < cpuTables.length; i++) {
                cpuTables[i] = Math.max(cpuTables[i], 0);
            }
            PagedAttention.attend(dense, batch, qStarts, kvLens, cpuTables, maxBlocks, kPool, vPool, pageSize, qHeads,
                    kvHeads, hd, scale, out, new float[Arrays.stream(kvLens).max().orElse(1)]);
            return out;
        }

        String describe() {
            return "q/kv heads " + qHeads + "/" + kvHeads + " hd " + hd + " page " + pageSize + " q " + Arrays.toString(qLens)
                    + " kv " + Arrays.toString(kvLens);
        }
    }

    private static int[] ones(int n) {
        int[] a = new int[n];
        Arrays.fill(a, 1);
        return a;
    }

    @Test
    void decodeMatchesCpuAcrossLengthsPagesAndGroups() throws Exception {
        CudaDevice device = Gpu.device();
        Object[][] configs = {
            {12, 2, 128, 16, new int[] {1, 2, 63, 64, 65, 1000, 1537}},
            {32, 8, 128, 1, new int[] {5, 300, 64}},
            {14, 2, 64, 256, new int[] {1, 2000, 65, 63}},
            {16, 1, 128, 7, new int[] {130, 1, 1024}},
            {8, 8, 64, 32, new int[] {257}},
        };
        try (DecodeAttentionKernel kernel = new DecodeAttentionKernel(device, 8, 32, 64)) {
            for (Object[] c : configs) {
                int[] lens = (int[]) c[4];
                Problem p = new Problem((int) c[0], (int) c[1], (int) c[2], (int) c[3], ones(lens.length), lens, 24);
                float[] ref = p.reference();
                int maxLen = Arrays.stream(lens).max().getAsInt();
                for (int partition : new int[] {kernel.partitionFor(p.batch, p.kvHeads, p.hd, maxLen), 64,
                    (maxLen + 63) / 64 * 64}) {
                    try (Gpu.Scope s = new Gpu.Scope()) {
                        DeviceBuffer out = Gpu.poisoned(s, 2L * p.batch * p.qHeads * p.hd);
                        kernel.run(Gpu.stream(), out.address(), p.qHeads * p.hd, Gpu.bf16(s, p.q).address(), p.qStride,
                                Gpu.bf16(s, p.kPool).address(), Gpu.bf16(s, p.vPool).address(),
                                Gpu.ints(s, p.tables).address(), p.maxBlocks, Gpu.ints(s, p.kvLens).address(), p.batch,
                                p.pageSize, p.qHeads, p.kvHeads, p.hd, partition, maxLen, p.scale);
                        Gpu.assertClose("decode " + p.describe() + " partition " + partition, ref,
                                Gpu.readBf16(out, ref.length), TOL);
                    }
                }
            }
        }
    }

    @Test
    void capturedDecodeStepReplaysWithNewLengthsAndTables() throws Exception {
        CudaDevice device = Gpu.device();
        CudaStream stream = Gpu.stream();
        int batch = 3, qHeads = 8, kvHeads = 2, hd = 128, pageSize = 16, maxLen = 2048;
        try (DecodeAttentionKernel kernel = new DecodeAttentionKernel(device, batch, qHeads, 64);
             Gpu.Scope s = new Gpu.Scope()) {
            int partition = kernel.partitionFor(batch, kvHeads, maxLen);
            Problem first = new Problem(qHeads, kvHeads, hd, pageSize, ones(batch), new int[] {700, 1, 2048}, 0);
            int maxBlocks = maxLen / pageSize + 1;
            int poolElems = (3 * maxBlocks + 3) * pageSize * kvHeads * hd;
            DeviceBuffer q = s.add(DeviceBuffer.allocate(2L * batch * qHeads * hd));
            DeviceBuffer kPool = s.add(DeviceBuffer.allocate(2L * poolElems));
            DeviceBuffer vPool = s.add(DeviceBuffer.allocate(2L * poolElems));
            DeviceBuffer tables = s.add(DeviceBuffer.allocate(4L * batch * maxBlocks));
            DeviceBuffer lens = s.add(DeviceBuffer.allocate(4L * batch));
            DeviceBuffer out = s.add(DeviceBuffer.allocate(2L * batch * qHeads * hd));
            try (CudaGraph graph = CudaGraph.capture(stream, () -> kernel.run(stream, out.address(), qHeads * hd,
                    q.address(), qHeads * hd, kPool.address(), vPool.address(), tables.address(), maxBlocks,
                    lens.address(), batch, pageSize, qHeads, kvHeads, hd, partition, maxLen, first.scale))) {
                Problem second = new Problem(qHeads, kvHeads, hd, pageSize, ones(batch), new int[] {65, 1999, 2}, 0);
                for (Problem p : new Problem[] {first, second}) {
                    q.copyFrom(Bf16.fromFloats(p.q));
                    kPool.copyFrom(Bf16.fromFloats(p.kPool));
                    vPool.copyFrom(Bf16.fromFloats(p.vPool));
                    tables.copyFrom(widen(p.tables, p.maxBlocks, maxBlocks, batch));
                    lens.copyFrom(p.kvLens);
                    out.fillBytes((byte) 0xff, stream);
                    graph.replay(stream);
                    float[] ref = p.reference();
                    Gpu.assertClose("graph-replayed decode " + p.describe(), ref, Gpu.readBf16(out, ref.length), TOL);
                }
            }
        }
    }

    private static int[] widen(int[] tables, int from, int to, int batch) {
        int[] w = new int[batch * to];
        Arrays.fill(w, -1);
        for (int s = 0; s < batch; s++) {
            System.arraycopy(tables, s * from, w, s * to, from);
        }
        return w;
    }

    @Test
    void prefillMatchesCpuForRaggedBatchesWithCachedPrefixes() throws Exception {
        PrefillAttentionKernel kernel = new PrefillAttentionKernel(Gpu.device());
        Object[][] configs = {
            {12, 2, 128, 16, new int[] {1, 2, 63, 64, 65, 1100}, new int[] {0, 0, 0, 0, 0, 0}},
            {8, 2, 64, 1, new int[] {200, 17}, new int[] {0, 300}},
            {32, 8, 128, 256, new int[] {513, 64}, new int[] {100, 0}},
            {16, 16, 64, 7, new int[] {129}, new int[] {61}},
            {14, 2, 64, 32, new int[] {1, 1, 3}, new int[] {1000, 5, 62}},
        };
        for (Object[] c : configs) {
            int[] qLens = (int[]) c[4], prefix = (int[]) c[5];
            int[] kvLens = new int[qLens.length];
            for (int i = 0; i < qLens.length; i++) {
                kvLens[i] = qLens[i] + prefix[i];
            }
            Problem p = new Problem((int) c[0], (int) c[1], (int) c[2], (int) c[3], qLens, kvLens, 8);
            float[] ref = p.reference();
            try (Gpu.Scope s = new Gpu.Scope()) {
                DeviceBuffer out = Gpu.poisoned(s, 2L * p.qTokens * p.qHeads * p.hd);
                kernel.run(Gpu.stream(), out.address(), p.qHeads * p.hd, Gpu.bf16(s, p.q).address(), p.qStride,
                        Gpu.bf16(s, p.kPool).address(), Gpu.bf16(s, p.vPool).address(), Gpu.ints(s, p.qStarts).address(),
                        Gpu.ints(s, p.kvLens).address(), Gpu.ints(s, p.tables).address(), p.maxBlocks, p.batch,
                        p.qTokens, p.pageSize, p.qHeads, p.kvHeads, p.hd, p.scale);
                Gpu.assertClose("prefill " + p.describe(), ref, Gpu.readBf16(out, ref.length), TOL);
            }
        }
    }
}
