package io.splitserve.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.splitserve.model.RopeFrequencies;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Every op against its textbook formula, evaluated in double on random inputs. */
class CpuOpsTest {
    private static final float TOLERANCE = 1e-5f;
    private final Random random = new Random(42);

    private float[] randomArray(int n) {
        final float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) random.nextGaussian();
        }
        return a;
    }

    private static void assertClose(double[] expected, float[] actual, float tolerance) {
        assertEquals(expected.length, actual.length, "length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tolerance * Math.max(1, Math.abs(expected[i])), "element " + i);
        }
    }

    @Test
    void embedGathersTableRows() {
        final int hidden = 5;
        final float[] table = randomArray(7 * hidden);
        final int[] ids = {3, 0, 6, 3};
        final float[] out = new float[ids.length * hidden];
        CpuOps.embed(ids, ids.length, table, hidden, out);
        for (int t = 0; t < ids.length; t++) {
            for (int h = 0; h < hidden; h++) {
                assertEquals(table[ids[t] * hidden + h], out[t * hidden + h]);
            }
        }
    }

    @Test
    void embedRejectsIdOutsideVocabulary() {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CpuOps.embed(new int[] {7}, 1, new float[14], 2, new float[2]));
        assertEquals("token id 7 outside the vocabulary of 7", e.getMessage());
    }

    private static double[] naiveRmsNorm(float[] x, float[] weight, double eps, int rows, int dim) {
        final double[] out = new double[rows * dim];
        for (int r = 0; r < rows; r++) {
            double ms = 0;
            for (int i = 0; i < dim; i++) {
                ms += (double) x[r * dim + i] * x[r * dim + i];
            }
            final double inv = 1 / Math.sqrt(ms / dim + eps);
            for (int i = 0; i < dim; i++) {
                out[r * dim + i] = x[r * dim + i] * inv * weight[i];
            }
        }
        return out;
    }

    @Test
    void rmsNormMatchesFormulaAndWorksInPlace() {
        final int rows = 3;
        final int dim = 67;
        final float[] x = randomArray(rows * dim);
        final float[] w = randomArray(dim);
        final double[] expected = naiveRmsNorm(x, w, 1e-6, rows, dim);
        final float[] out = new float[rows * dim];
        CpuOps.rmsNorm(x, w, 1e-6f, rows, dim, out);
        assertClose(expected, out, TOLERANCE);
        CpuOps.rmsNorm(x, w, 1e-6f, rows, dim, x);
        assertArrayEquals(out, x);
    }

    @Test
    void addRmsNormUpdatesResidualAndNormalizesTheSum() {
        final int rows = 4;
        final int dim = 32;
        final float[] x = randomArray(rows * dim);
        final float[] residual = randomArray(rows * dim);
        final float[] w = randomArray(dim);
        final float[] sum = new float[rows * dim];
        for (int i = 0; i < sum.length; i++) {
            sum[i] = x[i] + residual[i];
        }
        final double[] expected = naiveRmsNorm(sum, w, 1e-5, rows, dim);
        CpuOps.addRmsNorm(x, residual, w, 1e-5f, rows, dim, x);
        assertArrayEquals(sum, residual);
        assertClose(expected, x, TOLERANCE);
    }

    @Test
    void headRmsNormNormalizesEachHeadWithSharedWeight() {
        final int rows = 3;
        final int heads = 4;
        final int headDim = 16;
        final float[] x = randomArray(rows * heads * headDim);
        final float[] w = randomArray(headDim);
        final double[] expected = naiveRmsNorm(x, w, 1e-6, rows * heads, headDim);
        CpuOps.headRmsNorm(x, rows, heads, headDim, w, 1e-6f);
        assertClose(expected, x, TOLERANCE);
    }

    @Test
    void ropeRotatesHalvesByPositionTimesFrequency() {
        final int rows = 3;
        final int heads = 2;
        final int headDim = 8;
        final float[] x = randomArray(rows * heads * headDim);
        final float[] original = x.clone();
        final int[] positions = {0, 5, 130};
        final float[] invFreq = RopeFrequencies.standard(headDim, 10000);
        CpuOps.rope(x, rows, heads, headDim, positions, invFreq);
        final int half = headDim / 2;
        final double[] expected = new double[x.length];
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                final int base = (r * heads + h) * headDim;
                for (int i = 0; i < headDim; i++) {
                    final double angle = positions[r] * Math.pow(10000, -2.0 * (i % half) / headDim);
                    final double rotated = i < half ? -original[base + i + half] : original[base + i - half];
                    expected[base + i] = original[base + i] * Math.cos(angle) + rotated * Math.sin(angle);
                }
            }
        }
        assertClose(expected, x, 1e-4f);
        for (int i = 0; i < heads * headDim; i++) {
            assertEquals(original[i], x[i], "position 0 is the identity");
        }
    }

    @Test
    void matmulComputesXTimesWTransposedPlusBias() {
        for (boolean withBias : new boolean[] {false, true}) {
            final int rows = 5;
            final int in = 37;
            final int out = 11;
            final float[] x = randomArray(rows * in);
            final float[] w = randomArray(out * in);
            final float[] bias = withBias ? randomArray(out) : null;
            final double[] expected = new double[rows * out];
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < out; o++) {
                    double s = withBias ? bias[o] : 0;
                    for (int i = 0; i < in; i++) {
                        s += (double) x[r * in + i] * w[o * in + i];
                    }
                    expected[r * out + o] = s;
                }
            }
            final float[] y = new float[rows * out];
            CpuOps.matmul(x, rows, in, w, out, bias, y);
            assertClose(expected, y, 1e-4f);
        }
    }

    @Test
    void matmulEqualsRowByRowDotsWhateverTheThreadSplitAndRowPairing() {
        final int rows = 5; // two row pairs and a single row
        final int in = 511; // a partial group of four at the end of each dot product
        final int out = 1000; // 16 blocks, the last one partial
        final float[] x = randomArray(rows * in);
        final float[] w = randomArray(out * in);
        final float[] bias = randomArray(out);
        final float[] y = new float[rows * out];
        CpuOps.matmul(x, rows, in, w, out, bias, y);
        for (int r = 0; r < rows; r++) {
            final float[] single = new float[out];
            CpuOps.matmul(Arrays.copyOfRange(x, r * in, (r + 1) * in), 1, in, w, out, bias, single);
            for (int o = 0; o < out; o++) {
                assertEquals(CpuOps.dot(x, r * in, w, o * in, in) + bias[o], y[r * out + o], "row " + r + " out " + o);
                assertEquals(single[o], y[r * out + o], "same bits alone as in a batch");
            }
        }
    }

    @Test
    void siluMulGatesUpHalfWithSiluOfGateHalf() {
        final int rows = 3;
        final int inter = 9;
        final float[] gateUp = randomArray(rows * 2 * inter);
        final double[] expected = new double[rows * inter];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < inter; j++) {
                final double g = gateUp[r * 2 * inter + j];
                expected[r * inter + j] = g / (1 + Math.exp(-g)) * gateUp[r * 2 * inter + inter + j];
            }
        }
        final float[] out = new float[rows * inter];
        CpuOps.siluMul(gateUp, rows, inter, out);
        assertClose(expected, out, TOLERANCE);
    }

    @Test
    void writeKvPlacesEachRowAtItsSlot() {
        final int kvHeads = 2;
        final int headDim = 3;
        final int width = kvHeads * headDim;
        final int slots = 12;
        final float[] k = randomArray(3 * width);
        final float[] v = randomArray(3 * width);
        final int[] slotMapping = {7, 0, 11};
        final float[] kPool = new float[slots * width];
        final float[] vPool = new float[slots * width];
        CpuOps.writeKv(k, v, 3, slotMapping, kPool, vPool, kvHeads, headDim);
        for (int t = 0; t < 3; t++) {
            for (int i = 0; i < width; i++) {
                assertEquals(k[t * width + i], kPool[slotMapping[t] * width + i]);
                assertEquals(v[t * width + i], vPool[slotMapping[t] * width + i]);
            }
        }
        assertEquals(0f, kPool[width], "untouched slot stays zero");
    }

    @Test
    void gatherRowsCopiesSelectedRows() {
        final float[] x = randomArray(5 * 4);
        final float[] out = new float[2 * 4];
        CpuOps.gatherRows(x, new int[] {4, 1}, 2, 4, out);
        for (int i = 0; i < 4; i++) {
            assertEquals(x[16 + i], out[i]);
            assertEquals(x[4 + i], out[4 + i]);
        }
    }

    @Test
    void argmaxPicksFirstLargest() {
        final float[] logits = {0f, 3f, 3f, -1f, /* row 2 */ -5f, -4f, -6f, -4f};
        final int[] out = new int[2];
        CpuOps.argmaxRows(logits, 2, 4, out);
        assertArrayEquals(new int[] {1, 1}, out);
        assertEquals(3, CpuOps.argmax(new float[] {1, 2, 3, 9}, 0, 4));
    }

    /** Columns {@code [from, from + width)} of each row of {@code rows[n][stride]}, as dense rows. */
    private static float[] columns(float[] rows, int n, int stride, int from, int width) {
        final float[] out = new float[n * width];
        for (int r = 0; r < n; r++) {
            System.arraycopy(rows, r * stride + from, out, r * width, width);
        }
        return out;
    }

    @Test
    void opsOnFusedQkvRowsGiveExactlyTheDenseOpsResults() {
        final int tokens = 5;
        final int heads = 4;
        final int kvHeads = 2;
        final int headDim = 8;
        final int qDim = heads * headDim;
        final int kvDim = kvHeads * headDim;
        final int stride = qDim + 2 * kvDim;
        final float[] qkv = randomArray(tokens * stride);
        final float[] q = columns(qkv, tokens, stride, 0, qDim);
        final float[] k = columns(qkv, tokens, stride, qDim, kvDim);
        final float[] v = columns(qkv, tokens, stride, qDim + kvDim, kvDim);
        final float[] qNorm = randomArray(headDim);
        final float[] kNorm = randomArray(headDim);
        final int[] positions = {0, 1, 2, 7, 300};
        final float[] invFreq = RopeFrequencies.standard(headDim, 10000);

        CpuOps.headRmsNorm(q, tokens, heads, headDim, qNorm, 1e-6f);
        CpuOps.headRmsNorm(k, tokens, kvHeads, headDim, kNorm, 1e-6f);
        CpuOps.rope(q, tokens, heads, headDim, positions, invFreq);
        CpuOps.rope(k, tokens, kvHeads, headDim, positions, invFreq);
        CpuOps.headRmsNorm(qkv, 0, stride, tokens, heads, headDim, qNorm, 1e-6f);
        CpuOps.headRmsNorm(qkv, qDim, stride, tokens, kvHeads, headDim, kNorm, 1e-6f);
        CpuOps.rope(qkv, 0, stride, tokens, heads, headDim, positions, invFreq);
        CpuOps.rope(qkv, qDim, stride, tokens, kvHeads, headDim, positions, invFreq);
        assertArrayEquals(q, columns(qkv, tokens, stride, 0, qDim), "Q heads");
        assertArrayEquals(k, columns(qkv, tokens, stride, qDim, kvDim), "K heads");
        assertArrayEquals(v, columns(qkv, tokens, stride, qDim + kvDim, kvDim), "V heads untouched");

        // pages of 2 tokens, the sequences' pages out of order: tokens 0..2 are one sequence, 3..4 another
        final int pageSize = 2;
        final int[] slots = {6, 7, 2, 0, 1};
        final float[] kPool = new float[4 * pageSize * kvDim];
        final float[] vPool = new float[kPool.length];
        final float[] kPoolDense = new float[kPool.length];
        final float[] vPoolDense = new float[kPool.length];
        CpuOps.writeKv(qkv, qDim, qDim + kvDim, stride, tokens, slots, kPool, vPool, kvHeads, headDim);
        CpuOps.writeKv(k, v, tokens, slots, kPoolDense, vPoolDense, kvHeads, headDim);
        assertArrayEquals(kPoolDense, kPool, "K pages");
        assertArrayEquals(vPoolDense, vPool, "V pages");

        final int[] queryStarts = {0, 3, 5};
        final int[] contextLens = {3, 2};
        final int[] blockTables = {3, 1, 0, 0};
        final float scale = 0.3f;
        final float[] fusedOut = new float[tokens * qDim];
        final float[] denseOut = new float[tokens * qDim];
        PagedAttention.attend(qkv, stride, 2, queryStarts, contextLens, blockTables, 2, kPool, vPool, pageSize, heads,
                kvHeads, headDim, scale, fusedOut, new float[3]);
        PagedAttention.attend(q, 2, queryStarts, contextLens, blockTables, 2, kPool, vPool, pageSize, heads, kvHeads,
                headDim, scale, denseOut, new float[3]);
        assertArrayEquals(denseOut, fusedOut, "attention over fused query rows");
    }

    @Test
    void pageCopyCopiesLeadingRowsIntoTheDestinationPageOnlyAndRefusesPagesOutsideThePool() {
        final int pageSize = 3;
        final int width = 2;
        final float[] pool = new float[4 * pageSize * width];
        for (int i = 0; i < pool.length; i++) {
            pool[i] = i;
        }
        final float[] before = pool.clone();
        CpuOps.copyPageRows(pool, pageSize, width, new int[] {2, 0, 2, 1, 3, 1}, 2);
        final float[] expected = before.clone();
        System.arraycopy(before, 2 * pageSize * width, expected, 0, 2 * width); // page 2's rows 0-1 into page 0
        System.arraycopy(before, pageSize * width, expected, 3 * pageSize * width, width); // page 1's row 0 into 3
        assertArrayEquals(expected, pool);
        assertEquals(before[2 * width], pool[2 * width], "row 2 of page 0 is left as it was");
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CpuOps.copyPageRows(pool, pageSize, width, new int[] {4, 0, 1}, 1));
        assertEquals("page copy 0 (4 -> 0, 1 rows) does not fit a pool of 4 pages of 3", e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> CpuOps.copyPageRows(pool, pageSize, width, new int[] {1, 0, 4}, 1), "more rows than a page");
    }
}
