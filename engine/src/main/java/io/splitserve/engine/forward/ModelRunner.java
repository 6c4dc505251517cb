package io.splitserve.engine.forward;

/**
 * A backend's whole-model forward pass over one ragged {@link BatchStep}, with the KV page pool it owns. The engine
 * allocates pages ({@code BlockManager}) up to {@link #pageCount()}; the runner only holds their bytes.
 */
public interface ModelRunner extends AutoCloseable {

    /** KV pages this runner holds for every layer. */
    int pageCount();

    /**
     * Runs the step: writes every token's K/V into its slot and {@code step.numLogitRows()} rows of {@code [vocab]}
     * logits into {@code logits}, in {@code step.logitRows()} order.
     */
    void forward(BatchStep step, float[] logits);

    /** One line naming the backend and what it runs on, e.g. for a start-up message. */
    String description();

    /** Frees what the runner holds (device memory, graphs); the runner is unusable afterwards. */
    @Override
    void close();
}
