package io.splitserve.engine.sampling;

import io.splitserve.model.SamplingParams;
import java.util.Arrays;

/**
 * The sampling parameters of one step's logit rows, in row order, as a device sampler takes them: temperature,
 * top-k, top-p and min-p as the kernel reads them (float, int, float, float), the seed, and the counter of the
 * row's draw (the tokens its sequence sampled before, see {@link Sampler}). Greedy parameters are stored as
 * temperature 0, so a row is picked by the kernel's argmax exactly when {@link SamplingParams#isGreedy()} (top-k 1
 * included). Reused step after step: {@link #clear()} and {@link #add} allocate only when a step has more rows than
 * any before.
 */
public final class SamplingBatch {
    private float[] temperature = new float[0];
    private int[] topK = new int[0];
    private float[] topP = new float[0];
    private float[] minP = new float[0];
    private long[] seed = new long[0];
    private long[] counter = new long[0];
    private int rows;

    /** A batch of {@code rows} greedy rows (for callers that only decode greedily, such as benchmarks). */
    public static SamplingBatch greedy(int rows) {
        final SamplingBatch batch = new SamplingBatch();
        for (int i = 0; i < rows; i++) {
            batch.add(SamplingParams.greedy(), 0);
        }
        return batch;
    }

    public void clear() {
        rows = 0;
    }

    /** Appends the next row: its sequence's parameters and the number of tokens that sequence sampled before. */
    public void add(SamplingParams params, long sampledBefore) {
        if (params == null) {
            throw new IllegalArgumentException("sampling parameters are required");
        }
        if (sampledBefore < 0) {
            throw new IllegalArgumentException("tokens sampled before must be >= 0, got " + sampledBefore);
        }
        if (rows == temperature.length) {
            final int grown = Math.max(16, 2 * rows);
            temperature = Arrays.copyOf(temperature, grown);
            topK = Arrays.copyOf(topK, grown);
            topP = Arrays.copyOf(topP, grown);
            minP = Arrays.copyOf(minP, grown);
            seed = Arrays.copyOf(seed, grown);
            counter = Arrays.copyOf(counter, grown);
        }
        final boolean greedy = params.isGreedy();
        temperature[rows] = greedy ? 0f : (float) params.temperature();
        topK[rows] = greedy ? 0 : params.topK();
        topP[rows] = greedy ? 1f : (float) params.topP();
        minP[rows] = greedy ? 0f : (float) params.minP();
        seed[rows] = params.seed();
        counter[rows] = sampledBefore;
        rows++;
    }

    public int rows() {
        return rows;
    }

    /** Temperature of row {@code row}; 0 for a greedy row. */
    public float temperature(int row) {
        return temperature[check(row)];
    }

    public int topK(int row) {
        return topK[check(row)];
    }

    public float topP(int row) {
        return topP[check(row)];
    }

    public float minP(int row) {
        return minP[check(row)];
    }

    public long seed(int row) {
        return seed[check(row)];
    }

    /** The counter of row {@code row}'s draw: the tokens its sequence sampled before. */
    public long counter(int row) {
        return counter[check(row)];
    }

    private int check(int row) {
        if (row < 0 || row >= rows) {
            throw new IndexOutOfBoundsException("row " + row + " of a sampling batch of " + rows);
        }
        return row;
    }
}
