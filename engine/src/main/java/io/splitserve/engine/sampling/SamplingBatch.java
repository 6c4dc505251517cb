package io.splitserve.engine.sampling;

import io.splitserve.model.SamplingParams;
import java.util.Arrays;

/**
 * The sampling parameters of one step's logit rows, in row order, as a device sampler takes them: temperature,
 * top-k, top-p and min-p as the kernel reads them (float, int, float, float), the seed, and the counter of the
 * row's draw (the tokens its sequence sampled before, see {@link Sampler}). Greedy parameters are stored as
 * temperature 0, so a row is picked by the kernel's argmax exactly when {@link SamplingParams#isGreedy()} (top-k 1
 * included). Each row also keeps its {@link SamplingParams} (logit bias, penalties, logprobs count) and its
 * sequence's {@link TokenHistory} when a penalty is on, from which a device sampler packs the step's compact
 * logit-processing list; and a {@link TokenLogprobs} holder per row, which the sampler fills for rows that ask for
 * logprobs. Reused step after step: {@link #clear()} and {@link #add} allocate only when a step has more rows than
 * any before.
 */
public final class SamplingBatch {
    private float[] temperature = new float[0];
    private int[] topK = new int[0];
    private float[] topP = new float[0];
    private float[] minP = new float[0];
    private long[] seed = new long[0];
    private long[] counter = new long[0];
    private SamplingParams[] params = new SamplingParams[0];
    private TokenHistory[] history = new TokenHistory[0];
    private TokenLogprobs[] logprobs = new TokenLogprobs[0];
    private int rows;
    private int processedRows;
    private int logprobRows;

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
        processedRows = 0;
        logprobRows = 0;
    }

    /**
     * Appends the next row: its sequence's parameters and the number of tokens that sequence sampled before; the
     * parameters must carry no penalty (see {@link #add(SamplingParams, long, TokenHistory)}).
     */
    public void add(SamplingParams params, long sampledBefore) {
        add(params, sampledBefore, null);
    }

    /**
     * Appends the next row with its sequence's token {@code history}, which penalties need (it may be null when the
     * parameters have none). The history is read when the step runs, so it must not change before.
     */
    public void add(SamplingParams params, long sampledBefore, TokenHistory history) {
        if (params == null) {
            throw new IllegalArgumentException("sampling parameters are required");
        }
        if (params.hasPenalties() && history == null) {
            throw new IllegalArgumentException("a row with penalties needs its sequence's token history");
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
            this.params = Arrays.copyOf(this.params, grown);
            this.history = Arrays.copyOf(this.history, grown);
            logprobs = Arrays.copyOf(logprobs, grown);
        }
        final boolean greedy = params.isGreedy();
        temperature[rows] = greedy ? 0f : (float) params.temperature();
        topK[rows] = greedy ? 0 : params.topK();
        topP[rows] = greedy ? 1f : (float) params.topP();
        minP[rows] = greedy ? 0f : (float) params.minP();
        seed[rows] = params.seed();
        counter[rows] = sampledBefore;
        this.params[rows] = params;
        this.history[rows] = params.hasPenalties() ? history : null;
        if (params.processesLogits()) {
            processedRows++;
        }
        if (params.logprobs() > 0) {
            logprobRows++;
            if (logprobs[rows] == null) {
                logprobs[rows] = new TokenLogprobs();
            }
        }
        rows++;
    }

    /** The full parameters of row {@code row}. */
    public SamplingParams params(int row) {
        return params[check(row)];
    }

    /** The token history of row {@code row}'s sequence, or null when its parameters have no penalty. */
    public TokenHistory history(int row) {
        return history[check(row)];
    }

    /** Rows whose logits a bias or a penalty changes before sampling. */
    public int processedRows() {
        return processedRows;
    }

    /** Rows that ask for logprobs. */
    public int logprobRows() {
        return logprobRows;
    }

    /**
     * The holder of row {@code row}'s logprobs, which the sampler fills when the row asks for them ({@code
     * params(row).logprobs() > 0}; null otherwise). Refilled at every step the row slot is used again.
     */
    public TokenLogprobs logprobs(int row) {
        return params[check(row)].logprobs() > 0 ? logprobs[row] : null;
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
