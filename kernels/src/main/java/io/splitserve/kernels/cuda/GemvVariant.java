package io.splitserve.kernels.cuda;

/**
 * How one GEMV launch spreads its work ({@code gemv.cuh}): {@code warpsPerBlock} warps per block, {@code split} warps
 * sharing one group of output columns (split-K, partial sums added in warp order in shared memory, so results are
 * the same run to run), and {@code colsPerWarp} weight rows one warp streams side by side. Unsplit variants all
 * accumulate every column in the same order, so they agree bit for bit; a split changes the fp32 summation order
 * (results within rounding of the unsplit ones). The folded-norm, residual and SwiGLU forms take the warps per
 * block and the split, and run one column per warp (their sums are the same either way).
 */
public record GemvVariant(int warpsPerBlock, int split, int colsPerWarp) {
    /** The kernel as it ran before variants: 4 warps per block, one warp per column. */
    public static final GemvVariant ONE_WARP_PER_COLUMN = new GemvVariant(4, 1, 1);
    private static final int MAX_WARPS = 8;
    private static final int MAX_COLS = 2;

    public GemvVariant {
        if (warpsPerBlock < 1 || warpsPerBlock > MAX_WARPS) {
            throw new IllegalArgumentException("warps per block must be 1 to " + MAX_WARPS + ", got " + warpsPerBlock);
        }
        if (split < 1 || warpsPerBlock % split != 0) {
            throw new IllegalArgumentException("split " + split + " must divide the " + warpsPerBlock
                    + " warps per block");
        }
        if (colsPerWarp < 1 || colsPerWarp > MAX_COLS) {
            throw new IllegalArgumentException("columns per warp must be 1 to " + MAX_COLS + ", got " + colsPerWarp);
        }
    }

    /** Blocks of a launch over {@code groups} column groups (columns, or column pairs for SwiGLU). */
    int blocksFor(int groups) {
        final int groupsPerBlock = warpsPerBlock / split;
        return (groups + groupsPerBlock - 1) / groupsPerBlock;
    }

    int threads() {
        return 32 * warpsPerBlock;
    }

    @Override
    public String toString() {
        return warpsPerBlock + "w/split" + split + "/cols" + colsPerWarp;
    }
}
