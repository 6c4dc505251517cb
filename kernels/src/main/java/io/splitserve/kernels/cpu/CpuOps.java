package io.splitserve.kernels.cpu;

import java.util.stream.IntStream;

/**
 * The CPU reference of the backend op set: plain fp32 loops that define what every other backend (CUDA) must
 * compute. The forward pass is written once against these ops; a GPU op is correct when it matches the op here on
 * random inputs.
 *
 * <p>Layouts (all arrays are flat, row-major, fp32):
 * <ul>
 *   <li>activations: {@code [tokens][width]}, one row per token of the batch step, sequences packed one after
 *       another without padding;</li>
 *   <li>Q, K, V: {@code [tokens][heads][headDim]}, or fused {@code [tokens][q | k | v]} rows, which the ops that
 *       take an offset and a row stride read in place;</li>
 *   <li>weights of a linear layer: {@code W[out][in]}, so {@code y = x·Wᵀ (+ bias)} is a dot product of two
 *       contiguous rows;</li>
 *   <li>fused MLP input of {@link #siluMul}: {@code [tokens][gate | up]}, each half {@code intermediate} wide;</li>
 *   <li>KV pool, one per layer and one each for K and V: {@code [pages][pageSize][kvHeads][headDim]}; a slot is
 *       {@code page * pageSize + offsetInPage}, so slot {@code s} starts at element {@code s * kvHeads * headDim}.
 *       Paged attention itself is in {@link PagedAttention}; RoPE tables come from {@code io.splitserve.model.RopeFrequencies}.</li>
 * </ul>
 * No op allocates: outputs and scratch are passed in. Unless an op says otherwise, output arrays must not alias
 * inputs.
 */
public final class CpuOps {
    /** Output features per parallel task of {@link #matmul}. */
    private static final int MATMUL_BLOCK = 64;
    /** Below this much work a matmul runs on the calling thread: forking would cost more than it saves. */
    private static final long PARALLEL_MIN_MULTIPLY_ADDS = 1L << 20;

    private CpuOps() {
    }

    /** Gathers embedding rows: {@code out[t][:] = table[tokenIds[t]][:]} for {@code t < tokens}. */
    public static void embed(int[] tokenIds, int tokens, float[] table, int hidden, float[] out) {
        final int vocab = table.length / hidden;
        for (int t = 0; t < tokens; t++) {
            final int id = tokenIds[t];
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + vocab);
            }
            System.arraycopy(table, id * hidden, out, t * hidden, hidden);
        }
    }

    /**
     * RMSNorm per row: {@code out = x / sqrt(mean(x²) + eps) * weight}. {@code out} may be {@code x} (in place).
     */
    public static void rmsNorm(float[] x, float[] weight, float eps, int rows, int dim, float[] out) {
        for (int r = 0; r < rows; r++) {
            normalizeRow(x, r * dim, weight, eps, dim, out, r * dim);
        }
    }

    /**
     * Fused residual add + RMSNorm: {@code residual += x; out = rmsNorm(residual)}. The residual stream is updated
     * in place; {@code out} may be {@code x}.
     */
    public static void addRmsNorm(float[] x, float[] residual, float[] weight, float eps, int rows, int dim,
                                  float[] out) {
        final int n = rows * dim;
        for (int i = 0; i < n; i++) {
            residual[i] += x[i];
        }
        rmsNorm(residual, weight, eps, rows, dim, out);
    }

    /**
     * Per-head RMSNorm in place (Qwen3's q_norm / k_norm): every {@code headDim} slice of
     * {@code x[rows][heads][headDim]} is normalized and scaled by the shared {@code weight[headDim]}.
     */
    public static void headRmsNorm(float[] x, int rows, int heads, int headDim, float[] weight, float eps) {
        headRmsNorm(x, 0, heads * headDim, rows, heads, headDim, weight, eps);
    }

    /**
     * As {@link #headRmsNorm(float[], int, int, int, float[], float)} on heads that start {@code offset} into rows
     * {@code rowStride} wide, e.g. the K heads inside fused {@code [q | k | v]} rows.
     */
    public static void headRmsNorm(float[] x, int offset, int rowStride, int rows, int heads, int headDim,
                                   float[] weight, float eps) {
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                final int start = r * rowStride + offset + h * headDim;
                normalizeRow(x, start, weight, eps, headDim, x, start);
            }
        }
    }

    private static void normalizeRow(float[] x, int xOff, float[] weight, float eps, int dim, float[] out,
                                     int outOff) {
        float sumSquares = 0f;
        for (int i = 0; i < dim; i++) {
            final float v = x[xOff + i];
            sumSquares += v * v;
        }
        final float inv = (float) (1.0 / Math.sqrt(sumSquares / dim + eps));
        for (int i = 0; i < dim; i++) {
            out[outOff + i] = x[xOff + i] * inv * weight[i];
        }
    }

    /**
     * RoPE, neox style (rotate-half), in place on {@code x[rows][heads][headDim]}: for {@code i < headDim/2} and
     * angle {@code a = positions[r] * invFreq[i]}, the pair {@code (x[i], x[i + headDim/2])} becomes
     * {@code (x[i]·cos a − x[i+half]·sin a, x[i+half]·cos a + x[i]·sin a)}. Applied to Q and to K separately.
     */
    public static void rope(float[] x, int rows, int heads, int headDim, int[] positions, float[] invFreq) {
        rope(x, 0, heads * headDim, rows, heads, headDim, positions, invFreq);
    }

    /**
     * As {@link #rope(float[], int, int, int, int[], float[])} on heads that start {@code offset} into rows
     * {@code rowStride} wide, e.g. the Q or the K heads inside fused {@code [q | k | v]} rows.
     */
    public static void rope(float[] x, int offset, int rowStride, int rows, int heads, int headDim, int[] positions,
                            float[] invFreq) {
        final int half = headDim / 2;
        for (int r = 0; r < rows; r++) {
            final float pos = positions[r];
            for (int i = 0; i < half; i++) {
                final float angle = pos * invFreq[i];
                final float cos = (float) Math.cos(angle);
                final float sin = (float) Math.sin(angle);
                for (int h = 0; h < heads; h++) {
                    final int base = r * rowStride + offset + h * headDim;
                    final float x1 = x[base + i];
                    final float x2 = x[base + i + half];
                    x[base + i] = x1 * cos - x2 * sin;
                    x[base + i + half] = x2 * cos + x1 * sin;
                }
            }
        }
    }

    /**
     * Linear layer {@code y[r][o] = Σ_i x[r][i]·w[o][i] + bias[o]} with {@code w} row-major {@code [out][in]};
     * {@code bias} may be null. Large products are split over output features across the common fork-join pool;
     * every element is one {@link #dot} either way, so results do not depend on the split or on the batch.
     */
    public static void matmul(float[] x, int rows, int in, float[] w, int out, float[] bias, float[] y) {
        final int blocks = (out + MATMUL_BLOCK - 1) / MATMUL_BLOCK;
        if (blocks > 1 && (long) rows * in * out >= PARALLEL_MIN_MULTIPLY_ADDS) {
            IntStream.range(0, blocks).parallel().forEach(b -> matmulRange(x, rows, in, w, out, bias, y,
                    b * MATMUL_BLOCK, Math.min(out, (b + 1) * MATMUL_BLOCK)));
        } else {
            matmulRange(x, rows, in, w, out, bias, y, 0, out);
        }
    }

    private static void matmulRange(float[] x, int rows, int in, float[] w, int out, float[] bias, float[] y,
                                    int fromOut, int toOut) {
        for (int o = fromOut; o < toOut; o++) {
            final int wOff = o * in;
            final float b = bias == null ? 0f : bias[o];
            int r = 0;
            for (; r + 1 < rows; r += 2) {
                dotPair(x, r * in, w, wOff, in, b, y, r * out + o, out);
            }
            if (r < rows) {
                y[r * out + o] = dot(x, r * in, w, wOff, in) + b;
            }
        }
    }

    /**
     * Two rows of x against one row of w, each weight loaded once for both. Each row keeps exactly the partial sums
     * and summation order of {@link #dot}, so pairing rows changes no bit of the result.
     */
    private static void dotPair(float[] x, int xOff, float[] w, int wOff, int n, float bias, float[] y, int yOff,
                                int yStride) {
        final int x2 = xOff + n;
        float a0 = 0f;
        float a1 = 0f;
        float a2 = 0f;
        float a3 = 0f;
        float b0 = 0f;
        float b1 = 0f;
        float b2 = 0f;
        float b3 = 0f;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            final float w0 = w[wOff + i];
            final float w1 = w[wOff + i + 1];
            final float w2 = w[wOff + i + 2];
            final float w3 = w[wOff + i + 3];
            a0 += x[xOff + i] * w0;
            a1 += x[xOff + i + 1] * w1;
            a2 += x[xOff + i + 2] * w2;
            a3 += x[xOff + i + 3] * w3;
            b0 += x[x2 + i] * w0;
            b1 += x[x2 + i + 1] * w1;
            b2 += x[x2 + i + 2] * w2;
            b3 += x[x2 + i + 3] * w3;
        }
        for (; i < n; i++) {
            a0 += x[xOff + i] * w[wOff + i];
            b0 += x[x2 + i] * w[wOff + i];
        }
        y[yOff] = (a0 + a1) + (a2 + a3) + bias;
        y[yOff + yStride] = (b0 + b1) + (b2 + b3) + bias;
    }

    /** Dot product with four independent partial sums, so the JIT can overlap the multiply-adds. */
    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float s0 = 0f;
        float s1 = 0f;
        float s2 = 0f;
        float s3 = 0f;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            s0 += a[aOff + i] * b[bOff + i];
            s1 += a[aOff + i + 1] * b[bOff + i + 1];
            s2 += a[aOff + i + 2] * b[bOff + i + 2];
            s3 += a[aOff + i + 3] * b[bOff + i + 3];
        }
        for (; i < n; i++) {
            s0 += a[aOff + i] * b[bOff + i];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /**
     * SwiGLU activation over fused rows {@code gateUp[rows][gate | up]}:
     * {@code out[r][j] = silu(gate[r][j]) · up[r][j]} with {@code silu(g) = g / (1 + e^-g)}.
     */
    public static void siluMul(float[] gateUp, int rows, int intermediate, float[] out) {
        for (int r = 0; r < rows; r++) {
            final int gOff = r * 2 * intermediate;
            final int uOff = gOff + intermediate;
            final int oOff = r * intermediate;
            for (int j = 0; j < intermediate; j++) {
                final float g = gateUp[gOff + j];
                out[oOff + j] = g / (1f + (float) Math.exp(-g)) * gateUp[uOff + j];
            }
        }
    }

    /**
     * KV write: scatters the step's K and V rows ({@code [tokens][kvHeads][headDim]}) into one layer's page pools,
     * row {@code t} into slot {@code slotMapping[t]}.
     */
    public static void writeKv(float[] k, float[] v, int tokens, int[] slotMapping, float[] kPool, float[] vPool,
                               int kvHeads, int headDim) {
        final int width = kvHeads * headDim;
        for (int t = 0; t < tokens; t++) {
            final int dst = slotMapping[t] * width;
            System.arraycopy(k, t * width, kPool, dst, width);
            System.arraycopy(v, t * width, vPool, dst, width);
        }
    }

    /**
     * KV write from fused rows {@code qkv[tokens][rowStride]}: K starts {@code kOffset} and V {@code vOffset} into
     * each row, each {@code kvHeads * headDim} wide; row {@code t} goes into slot {@code slotMapping[t]}.
     */
    public static void writeKv(float[] qkv, int kOffset, int vOffset, int rowStride, int tokens, int[] slotMapping,
                               float[] kPool, float[] vPool, int kvHeads, int headDim) {
        final int width = kvHeads * headDim;
        for (int t = 0; t < tokens; t++) {
            final int dst = slotMapping[t] * width;
            System.arraycopy(qkv, t * rowStride + kOffset, kPool, dst, width);
            System.arraycopy(qkv, t * rowStride + vOffset, vPool, dst, width);
        }
    }

    /**
     * Page copy (copy on write of cached KV): for each of {@code count} copies, the triple
     * {@code copies[3c .. 3c + 2]} = (source page, destination page, rows) copies the source page's leading
     * {@code rows} slots into the destination page's, in one page pool ({@code [pages][pageSize][width]}; call it for
     * K and V of every layer). Destinations must be distinct and no destination a source.
     */
    public static void copyPageRows(float[] pool, int pageSize, int width, int[] copies, int count) {
        final int pages = pool.length / (pageSize * width);
        for (int c = 0; c < count; c++) {
            final int source = copies[3 * c];
            final int destination = copies[3 * c + 1];
            final int rows = copies[3 * c + 2];
            if (source < 0 || source >= pages || destination < 0 || destination >= pages || rows <= 0
                    || rows > pageSize) {
                throw new IllegalArgumentException("page copy " + c + " (" + source + " -> " + destination + ", "
                        + rows + " rows) does not fit a pool of " + pages + " pages of " + pageSize);
            }
            System.arraycopy(pool, source * pageSize * width, pool, destination * pageSize * width, rows * width);
        }
    }

    /** Copies the listed rows of {@code x[*][dim]} into consecutive rows of {@code out} (the rows that need logits). */
    public static void gatherRows(float[] x, int[] rowIndices, int count, int dim, float[] out) {
        for (int i = 0; i < count; i++) {
            System.arraycopy(x, rowIndices[i] * dim, out, i * dim, dim);
        }
    }

    /** Index of the largest of {@code n} values from {@code offset}; the first one wins a tie. */
    public static int argmax(float[] values, int offset, int n) {
        int best = 0;
        float bestValue = values[offset];
        for (int i = 1; i < n; i++) {
            final float v = values[offset + i];
            if (v > bestValue) {
                bestValue = v;
                best = i;
            }
        }
        return best;
    }

    /** Row-wise {@link #argmax} over {@code logits[rows][vocab]} into {@code out[rows]}. */
    public static void argmaxRows(float[] logits, int rows, int vocab, int[] out) {
        for (int r = 0; r < rows; r++) {
            out[r] = argmax(logits, r * vocab, vocab);
        }
    }
}
