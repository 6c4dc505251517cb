package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;

import org.junit.jupiter.api.Test;

/** Launch variants reject shapes the kernels cannot run, size their grids, and the tuning rule defaults. */
class GemvVariantTest {
    @Test
    void rejectsWhatTheKernelsCannotLaunch() {
        assertThrows(IllegalArgumentException.class, () -> new GemvVariant(9, 1, 1), "more warps than launch bounds");
        assertThrows(IllegalArgumentException.class, () -> new GemvVariant(0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new GemvVariant(4, 3, 1), "split straddling blocks");
        assertThrows(IllegalArgumentException.class, () -> new GemvVariant(4, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new GemvVariant(4, 1, 3), "no such column count");
    }

    @Test
    void gridCoversEveryColumnGroup() {
        assertEquals(384, GemvVariant.ONE_WARP_PER_COLUMN.blocksFor(1536));
        assertEquals(385, GemvVariant.ONE_WARP_PER_COLUMN.blocksFor(1537));
        assertEquals(768, new GemvVariant(4, 2, 1).blocksFor(1536), "two warps per column: two columns per block");
        assertEquals(1536, new GemvVariant(8, 8, 1).blocksFor(1536));
        assertEquals(256, new GemvVariant(8, 1, 1).threads());
    }

    @Test
    void tuningFallsBackToOneWarpPerColumn() {
        GemvVariant split = new GemvVariant(8, 4, 1);
        GemvTuning tuning = new GemvTuning(Map.of(new GemvTuning.Shape(1536, 8960, 1), split));
        assertEquals(split, tuning.variantFor(1536, 8960, 1));
        assertEquals(GemvVariant.ONE_WARP_PER_COLUMN, tuning.variantFor(1536, 8960, 2));
        assertEquals(GemvVariant.ONE_WARP_PER_COLUMN, GemvTuning.MEASURED.variantFor(151936, 1536, 1));
    }
}
