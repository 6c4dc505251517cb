package io.splitserve.perf.kernels;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.kernels.cuda.CudaEvent;
import io.splitserve.kernels.cuda.CudaGraph;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.GemvKernel;
import io.splitserve.kernels.cuda.GemvVariant;

/**
 * Times every {@link GemvVariant} of the decode GEMV on every projection shape of Qwen2.5-1.5B and Llama-3-8B (qkv,
 * o, gate|up SwiGLU, down, LM head) at 1, 2, 4 and 8 rows, to fill {@code GemvTuning.MEASURED}. Each figure is the
 * median over rounds of one CUDA-graph replay of many back-to-back launches (as a decode step runs them), timed with
 * CUDA events; the launches rotate over weight copies larger than the L2 cache together, so every launch streams its
 * weight from memory as in a step. Prints and writes per (shape, rows, variant) microseconds per launch, GB/s of
 * weight + activation traffic and the fraction of the H200's 4.3 TB/s, and the best variant per shape and rows.
 *
 * <p>Run as {@code java -cp ... io.splitserve.perf.kernels.GemvShapeBench OUTPUT.csv} (phase {@code gemvshapes} of
 * {@code perf/gpu/decode_device.sh}).
 */
public final class GemvShapeBench {
    private static final double PEAK_GBPS = 4300;
    private static final long ROTATE_BYTES = 512L << 20;
    private static final int LAUNCHES_PER_GRAPH = 200;
    private static final int ROUNDS = 7;
    private static final int[] ROWS = {1, 2, 4, 8};
    private static final List<GemvVariant> VARIANTS = List.of(GemvVariant.ONE_WARP_PER_COLUMN,
            new GemvVariant(8, 1, 1), new GemvVariant(4, 1, 2), new GemvVariant(8, 1, 2), new GemvVariant(4, 2, 1),
            new GemvVariant(8, 2, 1), new GemvVariant(8, 4, 1), new GemvVariant(8, 8, 1), new GemvVariant(2, 1, 1));

    /** The kinds of launch a projection runs as. */
    private enum Form { PLAIN, SWIGLU, LOGITS }

    /** A projection's weight {@code [out][in]}; for SwiGLU {@code out} is {@code 2 · intermediate}. */
    private record Projection(String model, String name, int out, int in, Form form) {
    }

    private static final List<Projection> PROJECTIONS = List.of(
            new Projection("qwen2.5-1.5b", "qkv", 2048, 1536, Form.PLAIN),
            new Projection("qwen2.5-1.5b", "o", 1536, 1536, Form.PLAIN),
            new Projection("qwen2.5-1.5b", "gate_up", 2 * 8960, 1536, Form.SWIGLU),
            new Projection("qwen2.5-1.5b", "down", 1536, 8960, Form.PLAIN),
            new Projection("qwen2.5-1.5b", "lm_head", 151936, 1536, Form.LOGITS),
            new Projection("llama-3-8b", "qkv", 6144, 4096, Form.PLAIN),
            new Projection("llama-3-8b", "o", 4096, 4096, Form.PLAIN),
            new Projection("llama-3-8b", "gate_up", 2 * 14336, 4096, Form.SWIGLU),
            new Projection("llama-3-8b", "down", 4096, 14336, Form.PLAIN),
            new Projection("llama-3-8b", "lm_head", 128256, 4096, Form.LOGITS));

    private GemvShapeBench() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: GemvShapeBench OUTPUT.csv");
        }
        final List<String> csv = new ArrayList<>();
        csv.add("model,projection,out,in,rows,variant,us_per_launch,gbps,fraction_of_peak");
        try (CudaDevice device = CudaDevice.open(0); CudaStream stream = new CudaStream()) {
            System.out.println("device: " + device.name() + ", " + device.multiprocessorCount() + " SMs");
            final GemvKernel gemv = new GemvKernel(device);
            for (Projection p : PROJECTIONS) {
                measure(gemv, stream, p, csv);
            }
        }
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(Path.of(args[0])))) {
            csv.forEach(out::println);
        }
    }

    private static void measure(GemvKernel gemv, CudaStream stream, Projection p, List<String> csv) {
        final long weightBytes = 2L * p.out() * p.in();
        final int copies = (int) Math.max(2, Math.min(64, ROTATE_BYTES / weightBytes + 1));
        final int columns = p.form() == Form.SWIGLU ? p.out() / 2 : p.out();
        final long yBytes = (p.form() == Form.LOGITS ? 4L : 2L) * GemvKernel.MAX_ROWS * columns;
        final List<DeviceBuffer> weights = new ArrayList<>();
        try (DeviceBuffer x = DeviceBuffer.allocate(2L * GemvKernel.MAX_ROWS * p.in());
             DeviceBuffer y = DeviceBuffer.allocate(yBytes)) {
            x.fillBytes((byte) 0x3c, stream);  // bf16 0x3c3c, about 0.0115: no zeros, no denormals
            for (int c = 0; c < copies; c++) {
                DeviceBuffer w = DeviceBuffer.allocate(weightBytes);
                w.fillBytes((byte) 0x3c, stream);
                weights.add(w);
            }
            for (int rows : ROWS) {
                GemvVariant best = null;
                double bestUs = Double.MAX_VALUE;
                for (GemvVariant v : VARIANTS) {
                    if (p.form() == Form.SWIGLU && v.colsPerWarp() > 1) {
                        continue;  // the SwiGLU form streams its gate and up rows side by side already
                    }
                    final double us = time(stream, () -> {
                        for (int i = 0; i < LAUNCHES_PER_GRAPH; i++) {
                            launch(gemv, stream, p, weights.get(i % copies).address(), x.address(), y.address(), rows, v);
                        }
                    }) / LAUNCHES_PER_GRAPH;
                    final long bytes = weightBytes + 2L * rows * p.in() + yBytes / GemvKernel.MAX_ROWS * rows;
                    final double gbps = bytes / us / 1e3;
                    final String line = String.format(Locale.ROOT, "%s,%s,%d,%d,%d,%s,%.2f,%.0f,%.3f", p.model(),
                            p.name(), p.out(), p.in(), rows, v, us, gbps, gbps / PEAK_GBPS);
                    System.out.println(line);
                    csv.add(line);
                    if (us < bestUs) {
                        bestUs = us;
                        best = v;
                    }
                }
                System.out.println("best " + p.model() + " " + p.name() + " rows " + rows + ": " + best);
            }
        } finally {
            weights.forEach(DeviceBuffer::close);
        }
    }

    private static void launch(GemvKernel gemv, CudaStream stream, Projection p, long w, long x, long y, int rows,
                               GemvVariant v) {
        switch (p.form()) {
            case PLAIN -> gemv.apply(stream, y, x, w, 0, rows, p.out(), p.in(), v);
            case SWIGLU -> gemv.applySwiGlu(stream, y, x, w, 0, rows, p.out() / 2, p.in(), v);
            case LOGITS -> gemv.applyFloat(stream, y, x, w, 0, rows, p.out(), p.in(), v);
        }
    }

    /** Median device microseconds of one replay of the graph {@code work} captures. */
    private static double time(CudaStream stream, Runnable work) {
        final double[] rounds = new double[ROUNDS];
        try (CudaGraph graph = CudaGraph.capture(stream, work);
             CudaEvent start = CudaEvent.timing(); CudaEvent stop = CudaEvent.timing()) {
            graph.replay(stream);  // warm-up
            for (int r = 0; r < ROUNDS; r++) {
                start.record(stream);
                graph.replay(stream);
                stop.record(stream);
                stop.synchronize();
                rounds[r] = 1e3 * stop.millisSince(start);
            }
        }
        Arrays.sort(rounds);
        return rounds[ROUNDS / 2];
    }
}
