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
     * The choices measured on an H200 by {@code GemvShapeBench}; empty until a run fills it, so every shape runs the
     * default variant.
     */
    public static final GemvTuning MEASURED = new GemvTuning(Map.of());

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
