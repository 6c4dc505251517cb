package io.splitserve.engine.schedule;

import java.util.Arrays;

/**
 * The composition of one batch step as {@link BatchScheduler} decided it: which sequences take part, in order, and
 * for each the tokens {@code [start, start + count)} it computes and whether its last row is sampled. Running
 * sequences come first (one decode token each), then prompts in arrival order; at most the last entry is a prefill
 * chunk that does not end its prompt (it samples nothing). So the {@code k}-th sampling entry is logit row {@code k}.
 *
 * <p>It also lists the page copies of the step (copy on write of a cached page's leading rows into a prompt's own
 * page): each copies rows {@code [0, rows)} of K and V of every layer from a source page to a destination page, and
 * must land before the step's forward pass writes anything. No two copies of a step share a destination, and no
 * destination is a source.
 *
 * <p>It only describes the step: packing tokens into a batch, running the model and sampling are the engine's. One
 * instance is reused from step to step; its arrays grow and are never shrunk.
 */
public final class StepPlan {
    private Sequence[] sequences = new Sequence[16];
    private int[] starts = new int[16];
    private int[] counts = new int[16];
    private boolean[] samples = new boolean[16];
    private int size;
    private int decodes;
    private int sampled;
    private int[] copySources = new int[4];
    private int[] copyDestinations = new int[4];
    private int[] copyRows = new int[4];
    private int copies;

    void clear() {
        Arrays.fill(sequences, 0, size, null);
        size = 0;
        decodes = 0;
        sampled = 0;
        copies = 0;
    }

    void addCopy(int sourcePage, int destinationPage, int rows) {
        if (copies == copySources.length) {
            copySources = Arrays.copyOf(copySources, copies * 2);
            copyDestinations = Arrays.copyOf(copyDestinations, copies * 2);
            copyRows = Arrays.copyOf(copyRows, copies * 2);
        }
        copySources[copies] = sourcePage;
        copyDestinations[copies] = destinationPage;
        copyRows[copies] = rows;
        copies++;
    }

    void addDecode(Sequence sequence) {
        add(sequence, sequence.computed, 1, true);
        decodes++;
    }

    void addPrefill(Sequence sequence, int start, int count, boolean last) {
        add(sequence, start, count, last);
    }

    private void add(Sequence sequence, int start, int count, boolean sample) {
        if (size == sequences.length) {
            final int capacity = size * 2;
            sequences = Arrays.copyOf(sequences, capacity);
            starts = Arrays.copyOf(starts, capacity);
            counts = Arrays.copyOf(counts, capacity);
            samples = Arrays.copyOf(samples, capacity);
        }
        sequences[size] = sequence;
        starts[size] = start;
        counts[size] = count;
        samples[size] = sample;
        size++;
        if (sample) {
            sampled++;
        }
    }

    /** Sequences in the step. */
    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    public Sequence sequence(int entry) {
        return sequences[checked(entry)];
    }

    /** Position of the first token the entry computes (the tokens before it already have K/V). */
    public int start(int entry) {
        return starts[checked(entry)];
    }

    /** Tokens the entry computes: 1 for a decode, the chunk or whole remaining prompt for a prefill. */
    public int count(int entry) {
        return counts[checked(entry)];
    }

    /** Whether the entry's last row is sampled: every decode and the chunk that ends a prompt. */
    public boolean samples(int entry) {
        return samples[checked(entry)];
    }

    /** Entries {@code [0, decodes())} are running sequences decoding one token each. */
    public int decodes() {
        return decodes;
    }

    /** Entries that sample, so the number of tokens the step produces. */
    public int sampled() {
        return sampled;
    }

    /** Page copies to run before the step's forward pass. */
    public int copies() {
        return copies;
    }

    /** The page copy {@code copy} reads from. */
    public int copySource(int copy) {
        return copySources[checkedCopy(copy)];
    }

    /** The page copy {@code copy} writes into. */
    public int copyDestination(int copy) {
        return copyDestinations[checkedCopy(copy)];
    }

    /** Leading rows (tokens) copy {@code copy} copies, K and V of every layer. */
    public int copyRows(int copy) {
        return copyRows[checkedCopy(copy)];
    }

    private int checkedCopy(int copy) {
        if (copy < 0 || copy >= copies) {
            throw new IndexOutOfBoundsException("copy " + copy + " of a step of " + copies + " page copies");
        }
        return copy;
    }

    /** Prompt tokens the step prefills (every entry after the decodes). */
    public int prefillTokens() {
        int tokens = 0;
        for (int i = decodes; i < size; i++) {
            tokens += counts[i];
        }
        return tokens;
    }

    private int checked(int entry) {
        if (entry < 0 || entry >= size) {
            throw new IndexOutOfBoundsException("entry " + entry + " of a step of " + size + " sequences");
        }
        return entry;
    }
}
