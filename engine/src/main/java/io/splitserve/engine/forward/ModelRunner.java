package io.splitserve.engine.forward;

/**
 * A backend's whole-model forward pass over one ragged {@link BatchStep}, with the KV page pool it owns. The engine
 * allocates pages ({@code BlockManager}) up to {@link #pageCount()}; the runner only holds their bytes.
 *
 * <p>Every runner can also move KV across engines, which disaggregated serving needs: it streams each layer's K and
 * V of a step as soon as the layer is computed ({@link #forward(BatchStep, float[], LayerKvListener)}) and writes a
 * sequence's KV computed elsewhere into its pages layer by layer, each as soon as it has arrived
 * ({@link #importBuffer}, {@link #importLayer}), both in its {@link #kvWireType()}.
 */
public interface ModelRunner extends AutoCloseable {

    /** KV pages this runner holds for every layer. */
    int pageCount();

    /**
     * Runs the step: writes every token's K/V into its slot and {@code step.numLogitRows()} rows of {@code [vocab]}
     * logits into {@code logits}, in {@code step.logitRows()} order.
     */
    void forward(BatchStep step, float[] logits);

    /**
     * As {@link #forward(BatchStep, float[])}, and hands each layer's K and V of the whole step to {@code kvListener}
     * in layer order, each as soon as that layer's KV is computed (before the call returns).
     */
    void forward(BatchStep step, float[] logits, LayerKvListener kvListener);

    /**
     * Whether {@link #forwardGreedy} picks tokens where the logits are (the GPU), so a step in which every sequence
     * is greedy moves one id per row to the host instead of a vocabulary of logits per row.
     */
    default boolean greedyOnDevice() {
        return false;
    }

    /**
     * Runs the step and writes the argmax of each logit row (lowest id on ties, as the host sampler) into
     * {@code tokens}, in {@code step.logitRows()} order. Only for runners whose {@link #greedyOnDevice()} is true.
     */
    default void forwardGreedy(BatchStep step, int[] tokens) {
        throw new UnsupportedOperationException(description() + " picks tokens on the host");
    }

    /**
     * As {@link #forwardGreedy(BatchStep, int[])}, running {@code whileComputing} on the calling thread while the
     * device computes the step (after its launch, before the wait). The task must leave this step's sequences, pages
     * and buffers alone.
     */
    default void forwardGreedy(BatchStep step, int[] tokens, Runnable whileComputing) {
        forwardGreedy(step, tokens);
        if (whileComputing != null) {
            whileComputing.run();
        }
    }

    /** The element type of exported and imported KV rows. */
    KvWireType kvWireType();

    /** Host memory for the KV of one imported sequence of {@code tokens} tokens, handed back by closing it. */
    KvImportBuffer importBuffer(int tokens);

    /**
     * Copies layer {@code layer} of an imported sequence from {@code src} (layout as {@link KvImportBuffer} says) into
     * the pages: token {@code t} goes to slot {@code slots[t]}, and {@code slots.length} is {@code src.tokens()}. The
     * copy may still be running when this returns (the GPU runs it beside the forward passes); closing {@code src}
     * waits for every copy made from it. Until then the pages at {@code slots} belong to the import alone, and bytes
     * of that layer changed in {@code src} may reach the pages only in part (import the layer again after them).
     */
    void importLayer(KvImportBuffer src, int layer, int[] slots);

    /** Makes the calling thread the one that drives this runner from now on (binds the GPU context). */
    void bindToCurrentThread();

    /** One line naming the backend and what it runs on, e.g. for a start-up message. */
    String description();

    /** Frees what the runner holds (device memory, graphs); the runner is unusable afterwards. */
    @Override
    void close();
}
