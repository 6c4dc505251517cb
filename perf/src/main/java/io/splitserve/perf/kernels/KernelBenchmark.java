package io.splitserve.perf.kernels;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import io.splitserve.kernels.cuda.Bf16;
import io.splitserve.kernels.cuda.Cublas;
import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.kernels.cuda.CudaGraph;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DecodeAttentionKernel;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.PrefillAttentionKernel;
import io.splitserve.kernels.cuda.SamplingKernel;
import jcuda.Pointer;
import jcuda.driver.CUevent;

/**
 * GPU kernel benchmarks, the Java half of the side-by-side with torch ({@code perf/gpu/torch_bench.py}, same
 * shapes, same timing method): device-to-device copy bandwidth, cuBLAS GEMM on the model projections, prefill
 * attention at head dim 128, decode attention in achieved GB/s, and token selection over a 151,936-token vocabulary
 * (greedy, and temperature 0.7 with top-p 0.9) from Gaussian and flat logits. Times come from CUDA events; each figure is the
 * median of several timed rounds after warm-up; inputs are random (never zeros) and rotated across buffers larger
 * than the L2 cache where one run's data would fit in it.
 *
 * <p>Run as {@code splitserve bench kernels OUTPUT.csv [--sections copy,gemm,prefill,decode,decode-sweep,decode-long,sampling]}
 * (the first four by default), so variants of one kernel can be timed without re-running the rest.
 */
public final class KernelBenchmark {
    private static final int ROUNDS = 7;
    private static final long ROTATE_BYTES = 512L << 20;

    private final CudaStream stream;
    private final CUevent start = new CUevent();
    private final CUevent stop = new CUevent();
    private final Random rnd = new Random(1);
    private final List<String> rows = new ArrayList<>();
    private final CudaDevice device;

    private KernelBenchmark(CudaDevice device) {
        this.device = device;
        this.stream = new CudaStream();
        cuEventCreate(start, 0);
        cuEventCreate(stop, 0);
    }

    /** The sections, in the order they run; {@link #DEFAULT_SECTIONS} leaves out the slow decode sweep. */
    public static final List<String> SECTIONS = List.of("copy", "gemm", "prefill", "decode", "decode-sweep", "decode-long",
            "sampling");
    public static final List<String> DEFAULT_SECTIONS = SECTIONS.subList(0, 4);

    /** Times {@code sections} (a subset of {@link #SECTIONS}) on GPU 0 and writes the rows to {@code csv}. */
    public static void run(Path csv, List<String> sections) throws IOException {
        if (!SECTIONS.containsAll(sections)) {
            throw new IllegalArgumentException("unknown kernel benchmark section in " + sections + "; known: " + SECTIONS);
        }
        try (CudaDevice device = CudaDevice.open(0)) {
            KernelBenchmark bench = new KernelBenchmark(device);
            System.out.println("device: " + device.name() + ", " + device.multiprocessorCount() + " SMs");
            if (sections.contains("copy")) {
                bench.copy();
            }
            if (sections.contains("gemm")) {
                bench.gemm();
            }
            if (sections.contains("prefill")) {
                bench.prefill();
            }
            if (sections.contains("decode")) {
                bench.decode();
            }
            if (sections.contains("decode-sweep")) {
                bench.decodeSweep();
            }
            if (sections.contains("decode-long")) {
                bench.decodeLong();
            }
            if (sections.contains("sampling")) {
                bench.sampling();
            }
            try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(csv))) {
                w.println("bench,case,ms,metric,unit");
                bench.rows.forEach(w::println);
            }
        }
    }

    private void record(String bench, String name, double ms, double metric, String unit) {
        String row = String.format(Locale.ROOT, "%s,%s,%.5f,%.2f,%s", bench, name, ms, metric, unit);
        rows.add(row);
        System.out.println(row);
    }

    /** Median over rounds of (time of {@code work} / {@code perRound}) in ms. */
    private double time(Runnable work, int perRound) {
        work.run();
        stream.synchronize();
        double[] t = new double[ROUNDS];
        float[] ms = {0};
        for (int r = 0; r < ROUNDS; r++) {
            cuEventRecord(start, stream.stream());
            work.run();
            cuEventRecord(stop, stream.stream());
            cuEventSynchronize(stop);
            cuEventElapsedTime(ms, start, stop);
            t[r] = ms[0] / perRound;
        }
        Arrays.sort(t);
        return t[ROUNDS / 2];
    }

    /** Fills a buffer with random bf16 values in [-1, 1) by repeating one 16 MiB random block. */
    private void fillRandom(DeviceBuffer b) {
        short[] block = new short[8 << 20];
        for (int i = 0; i < block.length; i++) {
            block[i] = Bf16.fromFloat(rnd.nextFloat() * 2 - 1);
        }
        long blockBytes = 2L * block.length;
        for (long off = 0; off < b.bytes(); off += blockBytes) {
            long n = Math.min(blockBytes, b.bytes() - off);
            cuMemcpyHtoD(b.pointer().withByteOffset(off), Pointer.to(block), n);
        }
    }

    private void copy() {
        long bytes = 4L << 30;
        try (DeviceBuffer a = DeviceBuffer.allocate(bytes); DeviceBuffer b = DeviceBuffer.allocate(bytes)) {
            fillRandom(a);
            double ms = time(() -> {
                for (int i = 0; i < 5; i++) {
                    cuMemcpyDtoDAsync(b.pointer(), a.pointer(), bytes, stream.stream());
                }
            }, 5);
            record("copy", "d2d 4GiB", ms, 2.0 * bytes / (ms * 1e-3) / 1e9, "GB/s (read+write)");
        }
    }

    private void gemm() {
        int[][] projections = {
            // model id (0 Qwen2.5-1.5B, 1 Llama-3-8B), N, K
            {0, 2048, 1536}, {0, 1536, 1536}, {0, 17920, 1536}, {0, 1536, 8960},
            {1, 6144, 4096}, {1, 4096, 4096}, {1, 28672, 4096}, {1, 4096, 14336},
        };
        String[] names = {"qwen2.5-1.5b", "llama-3-8b"};
        try (Cublas cublas = new Cublas(stream)) {
            for (int[] p : projections) {
                int n = p[1], k = p[2];
                long wBytes = 2L * n * k;
                int copies = (int) Math.max(1, Math.min(16, ROTATE_BYTES / wBytes));
                try (DeviceBuffer w = DeviceBuffer.allocate(wBytes * copies)) {
                    fillRandom(w);
                    for (int m : new int[] {1, 40, 256, 4096}) {
                        try (DeviceBuffer x = DeviceBuffer.allocate(2L * m * k); DeviceBuffer y = DeviceBuffer.allocate(2L * m * n)) {
                            fillRandom(x);
                            int reps = 4 * copies;
                            double ms = time(() -> {
                                for (int i = 0; i < reps; i++) {
                                    cublas.matmulTransposed(y.address(), Cublas.BF16, x.address(),
                                            w.address((i % copies) * wBytes), m, n, k);
                                }
                            }, reps);
                            record("gemm", names[p[0]] + " M=" + m + " N=" + n + " K=" + k, ms,
                                    2.0 * m * n * k / (ms * 1e-3) / 1e12, "TFLOP/s");
                        }
                    }
                }
            }
        }
    }

    private void prefill() {
        int qHeads = 32, kvHeads = 8, hd = 128, pageSize = 16;
        PrefillAttentionKernel kernel = new PrefillAttentionKernel(device);
        for (int len : new int[] {512, 1024, 2048, 4096, 8192}) {
            int batch = Math.max(1, 16384 / len), tokens = batch * len;
            int blocksPerSeq = len / pageSize;
            int pages = batch * blocksPerSeq;
            int[] perm = shuffled(pages);
            int[] qStarts = new int[batch + 1];
            int[] kvLens = new int[batch];
            for (int s = 0; s < batch; s++) {
                qStarts[s + 1] = qStarts[s] + len;
                kvLens[s] = len;
            }
            long poolBytes = 2L * pages * pageSize * kvHeads * hd;
            try (DeviceBuffer q = DeviceBuffer.allocate(2L * tokens * qHeads * hd);
                 DeviceBuffer out = DeviceBuffer.allocate(2L * tokens * qHeads * hd);
                 DeviceBuffer kPool = DeviceBuffer.allocate(poolBytes); DeviceBuffer vPool = DeviceBuffer.allocate(poolBytes);
                 DeviceBuffer tables = DeviceBuffer.allocate(4L * pages); DeviceBuffer starts = DeviceBuffer.allocate(4L * (batch + 1));
                 DeviceBuffer lens = DeviceBuffer.allocate(4L * batch)) {
                fillRandom(q);
                fillRandom(kPool);
                fillRandom(vPool);
                tables.copyFrom(perm);
                starts.copyFrom(qStarts);
                lens.copyFrom(kvLens);
                float scale = (float) (1 / Math.sqrt(hd));
                double ms = time(() -> {
                    for (int i = 0; i < 5; i++) {
                        kernel.run(stream, out.address(), qHeads * hd, q.address(), qHeads * hd, kPool.address(),
                                vPool.address(), starts.address(), lens.address(), tables.address(), blocksPerSeq, batch,
                                tokens, pageSize, qHeads, kvHeads, hd, scale);
                    }
                }, 5);
                double flops = 4.0 * batch * qHeads * hd * (double) len * len / 2;
                record("prefill", "hd128 h32/8 batch=" + batch + " len=" + len, ms, flops / (ms * 1e-3) / 1e12,
                        "TFLOP/s (causal)");
            }
        }
    }

    private static final int[][] DECODE_MODELS = {{32, 8}, {12, 2}};
    /** The runner's decode-attention split limit ({@code CudaModelRunner}'s). */
    private static final int RUNNER_SPLITS = 64;
    private static final String[] DECODE_MODEL_NAMES = {"llama-3-8b", "qwen2.5-1.5b"};

    private void decode() {
        for (int mi = 0; mi < DECODE_MODELS.length; mi++) {
            for (int batch : new int[] {1, 16, 64}) {
                for (int ctx : new int[] {1024, 4096, 16384}) {
                    decodeCase("decode", mi, batch, ctx, null);
                }
            }
        }
    }

    /**
     * Decode at the small-batch shapes over a range of partitions (the heuristic's choice among them), and the
     * fixed cost of a decode step: batch 1 over 16 tokens (one split, one kernel) and over 128 tokens in two
     * 64-token splits (the partial kernel and the merge).
     */
    private void decodeSweep() {
        int[] partitions = {64, 128, 192, 256, 384, 512, 768, 1024, 1536};
        int[][] cases = {{0, 1, 1024}, {0, 1, 4096}, {0, 1, 16384}, {1, 1, 4096}, {1, 1, 16384}, {1, 16, 1024},
            {1, 16, 4096}, {0, 16, 1024}};
        for (int[] c : cases) {
            decodeCase("decode-sweep", c[0], c[1], c[2], partitions);
        }
        decodeCase("decode-floor", 1, 1, 16, new int[] {64});
        decodeCase("decode-floor", 1, 1, 128, new int[] {64});
    }

    /**
     * Decode attention at 32k-128k tokens of context, batch 1 and 8: the partition the runner's rule picks (at most
     * {@value #RUNNER_SPLITS} splits) beside longer and shorter ones under a 256-split workspace.
     */
    private void decodeLong() {
        for (int mi = 0; mi < DECODE_MODELS.length; mi++) {
            for (int batch : new int[] {1, 8}) {
                for (int ctx : new int[] {32768, 65536, 131072}) {
                    int runner;
                    try (DecodeAttentionKernel rule = new DecodeAttentionKernel(device, batch, DECODE_MODELS[mi][0],
                            RUNNER_SPLITS)) {
                        runner = rule.partitionFor(batch, DECODE_MODELS[mi][1], 128, ctx);
                    }
                    int[] partitions = java.util.stream.IntStream.of(runner, 512, 1024, 2048, 4096).distinct().toArray();
                    decodeCase("decode-long", mi, batch, ctx, partitions, runner);
                }
            }
        }
    }

    private void decodeCase(String bench, int model, int batch, int ctx, int[] partitions) {
        decodeCase(bench, model, batch, ctx, partitions, -1);
    }

    /**
     * One decode shape at the heuristic's partition ({@code partitions} null) or at each of {@code partitions};
     * {@code runnerChoice}, when not -1, is marked as the partition the runner's rule would pick.
     */
    private void decodeCase(String bench, int model, int batch, int ctx, int[] partitions, int runnerChoice) {
        int qHeads = DECODE_MODELS[model][0], kvHeads = DECODE_MODELS[model][1];
        int hd = 128, pageSize = 16;
        long runBytes = 2L * 2 * batch * ctx * kvHeads * hd;  // K and V, bf16
        int sets = (int) Math.max(1, Math.min(64, ROTATE_BYTES * 2 / runBytes));
        int blocks = (ctx + pageSize - 1) / pageSize;
        int pagesPerSet = batch * blocks;
        long poolBytes = 2L * sets * pagesPerSet * pageSize * kvHeads * hd;
        int maxSplits = 256;
        try (DecodeAttentionKernel kernel = new DecodeAttentionKernel(device, batch, qHeads, maxSplits);
             DeviceBuffer q = DeviceBuffer.allocate(2L * batch * qHeads * hd);
             DeviceBuffer out = DeviceBuffer.allocate(2L * batch * qHeads * hd);
             DeviceBuffer kPool = DeviceBuffer.allocate(poolBytes); DeviceBuffer vPool = DeviceBuffer.allocate(poolBytes);
             DeviceBuffer tables = DeviceBuffer.allocate(4L * sets * pagesPerSet);
             DeviceBuffer lens = DeviceBuffer.allocate(4L * batch)) {
            fillRandom(q);
            fillRandom(kPool);
            fillRandom(vPool);
            tables.copyFrom(shuffled(sets * pagesPerSet));
            int[] l = new int[batch];
            Arrays.fill(l, ctx);
            lens.copyFrom(l);
            int chosen = kernel.partitionFor(batch, kvHeads, hd, ctx);
            float scale = (float) (1 / Math.sqrt(hd));
            int launches = Math.max(sets, 8);
            for (int partition : partitions == null ? new int[] {chosen} : partitions) {
                if (partition > Math.max(64, ctx) || (ctx + partition - 1) / partition > maxSplits) {
                    continue;
                }
                try (CudaGraph graph = CudaGraph.capture(stream, () -> {
                    for (int i = 0; i < launches; i++) {
                        long t = tables.address(4L * (i % sets) * pagesPerSet);
                        kernel.run(stream, out.address(), qHeads * hd, q.address(), qHeads * hd, kPool.address(),
                                vPool.address(), t, blocks, lens.address(), batch, pageSize, qHeads, kvHeads, hd,
                                partition, ctx, scale);
                    }
                })) {
                    double ms = time(() -> graph.replay(stream), launches);
                    record(bench, DECODE_MODEL_NAMES[model] + " h" + qHeads + "/" + kvHeads + " batch=" + batch
                            + " ctx=" + ctx + " partition=" + partition + (partition == chosen ? " (chosen)" : "")
                            + (partition == runnerChoice ? " (runner)" : ""),
                            ms, runBytes / (ms * 1e-3) / 1e9, "GB/s (KV read)");
                }
            }
        }
    }

    private int[] shuffled(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /**
     * {@code sample_tokens} over {@code batch} rows of a 151,936-token vocabulary: greedy, and temperature 0.7 with
     * top-p 0.9, from Gaussian logits (scale 4, as a random-weight model's are spread) and flat ones (every logit
     * within 0.5 of the others: every token a candidate and kept). Reported in ms per call and GB/s of logits.
     */
    private void sampling() {
        final int vocab = 151936;
        final SamplingKernel kernel = new SamplingKernel(device);
        for (String shape : new String[] {"gaussian", "flat"}) {
            for (int batch : new int[] {1, 16, 64, 256}) {
                final float[] logits = new float[batch * vocab];
                for (int i = 0; i < logits.length; i++) {
                    logits[i] = shape.equals("flat") ? 0.5f * rnd.nextFloat() : (float) rnd.nextGaussian() * 4f;
                }
                final float[] topP = new float[batch];
                final float[] minP = new float[batch];
                final int[] topK = new int[batch];
                final long[] seeds = new long[batch];
                for (int b = 0; b < batch; b++) {
                    topP[b] = 0.9f;
                    seeds[b] = b;
                }
                try (DeviceBuffer out = DeviceBuffer.allocate(4L * batch);
                     DeviceBuffer dLogits = DeviceBuffer.allocate(4L * logits.length);
                     DeviceBuffer greedy = DeviceBuffer.allocate(4L * batch);
                     DeviceBuffer sampled = DeviceBuffer.allocate(4L * batch);
                     DeviceBuffer dTopK = DeviceBuffer.allocate(4L * batch);
                     DeviceBuffer dTopP = DeviceBuffer.allocate(4L * batch);
                     DeviceBuffer dMinP = DeviceBuffer.allocate(4L * batch);
                     DeviceBuffer dSeeds = DeviceBuffer.allocate(8L * batch);
                     DeviceBuffer counters = DeviceBuffer.allocate(8L * batch)) {
                    dLogits.copyFrom(logits);
                    greedy.copyFrom(new float[batch]);
                    final float[] t = new float[batch];
                    Arrays.fill(t, 0.7f);
                    sampled.copyFrom(t);
                    dTopK.copyFrom(topK);
                    dTopP.copyFrom(topP);
                    dMinP.copyFrom(minP);
                    dSeeds.copyFrom(seeds);
                    counters.copyFrom(new long[batch]);
                    for (boolean isSampled : new boolean[] {false, true}) {
                        final DeviceBuffer temperature = isSampled ? sampled : greedy;
                        final double ms = time(() -> {
                            for (int i = 0; i < 20; i++) {
                                kernel.sample(stream, out.address(), dLogits.address(), vocab, vocab, batch,
                                        temperature.address(), dTopK.address(), dTopP.address(), dMinP.address(),
                                        dSeeds.address(), counters.address());
                            }
                        }, 20);
                        record("sampling", shape + (isSampled ? " t0.7 p0.9" : " greedy") + " batch=" + batch, ms,
                                4.0 * batch * vocab / (ms * 1e-3) / 1e9, "GB/s of logits");
                    }
                }
            }
        }
    }
}
