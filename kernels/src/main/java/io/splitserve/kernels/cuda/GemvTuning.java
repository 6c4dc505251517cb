package io.splitserve.kernels.cuda;

import java.util.Map;

/**
 * The rule that picks a {@link GemvVariant} for a GEMV shape: a table keyed by the weight's shape
 * ({@code [out][in]}) and the row count, filled from {@code GemvShapeBench}'s measurements; a shape the table does not
 * name runs {@link GemvVariant#ONE_WARP_PER_COLUMN}. A tuned choice therefore lands as data here, not as code. A
 * split variant changes the fp32 summation order, so the plain and the folded forms of one linear must look up the
 * same shape (they do: both ask with the linear's own {@code out} and {@code in}). Looked up when a linear is built,
 * never per launch.
 */
public final class GemvTuning {
    /**
     * The choices measured on an H200 by {@code GemvShapeBench} (2026-12-03,
     * perf/results/cuda-runner/2026-12-03-h200-decode-2/gemvshapes.csv): for each projection of Qwen2.5-1.5B and
     * Llama-3-8B at 1, 2, 4 and 8 rows, the fastest variant with one column per warp (the folded-norm, residual and
     * SwiGLU forms, which a fused decode step runs, take one column per warp), where it beat the default by more than
     * 3%; every other shape runs the default. Times in the comments are microseconds per launch, default -> chosen.
     */
    public static final GemvTuning MEASURED = new GemvTuning(Map.ofEntries(
            entry(1536, 1536, 1, new GemvVariant(4, 2, 1)), // qwen2.5-1.5b o: 4.90 -> 3.86
            entry(1536, 1536, 2, new GemvVariant(4, 2, 1)), // qwen2.5-1.5b o: 5.02 -> 3.95
            entry(1536, 1536, 4, new GemvVariant(4, 2, 1)), // qwen2.5-1.5b o: 5.42 -> 4.41
            entry(1536, 1536, 8, new GemvVariant(8, 2, 1)), // qwen2.5-1.5b o: 7.11 -> 5.59
            entry(17920, 1536, 8, new GemvVariant(2, 1, 1)), // qwen2.5-1.5b gate_up: 31.24 -> 30.09
            entry(1536, 8960, 1, new GemvVariant(4, 2, 1)), // qwen2.5-1.5b down: 18.21 -> 11.82
            entry(1536, 8960, 2, new GemvVariant(4, 2, 1)), // qwen2.5-1.5b down: 18.66 -> 12.23
            entry(1536, 8960, 4, new GemvVariant(4, 2, 1)), // qwen2.5-1.5b down: 20.50 -> 14.01
            entry(1536, 8960, 8, new GemvVariant(8, 2, 1)), // qwen2.5-1.5b down: 31.24 -> 20.05
            entry(6144, 4096, 8, new GemvVariant(2, 1, 1)), // llama-3-8b qkv: 41.07 -> 35.74
            entry(4096, 4096, 1, new GemvVariant(4, 2, 1)), // llama-3-8b o: 17.59 -> 15.52
            entry(4096, 4096, 2, new GemvVariant(4, 2, 1)), // llama-3-8b o: 18.12 -> 16.04
            entry(4096, 4096, 4, new GemvVariant(4, 2, 1)), // llama-3-8b o: 19.91 -> 17.88
            entry(4096, 4096, 8, new GemvVariant(4, 2, 1)), // llama-3-8b o: 30.18 -> 25.43
            entry(28672, 4096, 8, new GemvVariant(2, 1, 1)), // llama-3-8b gate_up: 110.01 -> 105.35
            entry(4096, 14336, 1, new GemvVariant(4, 2, 1)), // llama-3-8b down: 54.82 -> 45.02
            entry(4096, 14336, 2, new GemvVariant(4, 2, 1)), // llama-3-8b down: 56.75 -> 46.89
            entry(4096, 14336, 4, new GemvVariant(4, 2, 1)), // llama-3-8b down: 62.43 -> 52.17
            entry(4096, 14336, 8, new GemvVariant(8, 4, 1)))); // llama-3-8b down: 131.41 -> 83.43

    private static Map.Entry<Shape, GemvVariant> entry(int out, int in, int rows, GemvVariant variant) {
        return Map.entry(new Shape(out, in, rows), variant);
    }

    /** A weight shape {@code [out][in]} at {@code rows} rows. */
    public record Shape(int out, int in, int rows) {
    }

    private final Map<Shape, GemvVariant> table;

    public GemvTuning(Map<Shape, GemvVariant> table) {
        this.table = Map.copyOf(table);
    }

    /** The variant for {@code rows} rows through a {@code [out][in]} weight. */
    public GemvVariant variantFor(int out, int in, int rows) {
        return table.getOrDefault(new Shape(out, in, rows), GemvVariant.ONE_WARP_PER_COLUMN);
    }
}
