package io.splitserve.engine.forward;

import io.splitserve.engine.sampling.SamplingBatch;

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
     * Whether {@link #forwardSampled} picks tokens where the logits are (the GPU), so a step moves one id per row to the
     * host instead of a vocabulary of logits per row.
     */
    default boolean samplesOnDevice() {
        return false;
    }

    /**
     * Runs the step and writes the token of each logit row, picked under {@code sampling}'s row of the same index by
     * the rule of {@code sampling.Sampler} (greedy rows: the argmax, lowest id on ties), into {@code tokens}, in
     * {@code step.logitRows()} order. Only for runners whose {@link #samplesOnDevice()} is true.
     */
    default void forwardSampled(BatchStep step, SamplingBatch sampling, int[] tokens) {
        throw new UnsupportedOperationException(description() + " picks tokens on the host");
    }

    /**
     * As {@link #forwardSampled(BatchStep, SamplingBatch, int[])}, running {@code whileComputing} on the calling thread
     * while the device computes the step (after its launch, before the wait). The task must leave this step's
     * sequences, pages and buffers alone.
     */
    default void forwardSampled(BatchStep step, SamplingBatch sampling, int[] tokens, Runnable whileComputing) {
        forwardSampled(step, sampling, tokens);
        if (whileComputing != null) {
            whileComputing.run();
        }
    }

    /**
     * As {@link #forward(BatchStep, float[], LayerKvListener)}, running {@code logitsReady} as soon as the step's logits
     * are in {@code logits}, which may be before every layer reached {@code kvListener} (so a first token can be sampled
     * while the KV still streams). The runner calls it exactly once, on the calling thread, before returning.
     */
    default void forward(BatchStep step, float[] logits, LayerKvListener kvListener, Runnable logitsReady) {
        forward(step, logits, kvListener);
        logitsReady.run();
    }

    /** The device memory this runner exports prefill KV from, or null when it has none (its KV is not on a GPU). */
    default DeviceKvArena deviceKvArena() {
        return null;
    }

    /**
     * Runs the step and copies each layer's K and V rows of every token into the {@link #deviceKvArena()} at
     * {@code exportOffset}, laid out {@code [layers][K, V][stepTokens][kvHeads][headDim]} (a sequence's rows in step
     * order, from its first row), reporting each layer with its checksums to {@code listener} as soon as it landed;
     * {@code logitsReady} runs as in {@link #forward(BatchStep, float[], LayerKvListener, Runnable)}. The range must
     * hold {@code 2 * layers * stepTokens * rowBytes} bytes.
     */
    default void forwardToDevice(BatchStep step, float[] logits, long exportOffset, DeviceLayerListener listener,
                                 Runnable logitsReady) {
        throw new UnsupportedOperationException(description() + " exports no KV from device memory");
    }

    /** Whether this runner takes KV from another runner's exported device memory ({@link #importLayerFromDevice}). */
    default boolean importsFromDevice() {
        return false;
    }

    /** The UUID of the GPU holding this runner's KV, or "" when it is not on a GPU. */
    default String deviceUuid() {
        return "";
    }

    /** Maps another runner's exported arena for {@link #importLayerFromDevice}, once per arena; says why not. */
    default PeerAttachment attachPeerArena(PeerArena peer) {
        return new PeerAttachment(PeerAttachment.Access.UNREACHABLE, description() + " keeps no KV on a GPU");
    }

    /**
     * Unmaps a peer arena mapped by {@link #attachPeerArena}, once no import reads from it any more (the runner waits
     * for its imports first); unknown ids are ignored.
     */
    default void detachPeerArena(long arenaId) {
    }

    /** Bookkeeping memory for a sequence of {@code tokens} tokens imported from device memory (no KV bytes in it). */
    default KvImportBuffer deviceImportBuffer(int tokens) {
        throw new UnsupportedOperationException(description() + " imports no KV from device memory");
    }

    /**
     * Queues the copy of layer {@code layer} of an imported sequence from a mapped peer arena (its K at
     * {@code keyOffset}, its V at {@code valueOffset}, each {@code [tokens][kvHeads][headDim]}) into the pages at
     * {@code slots}, and the CRC32C of each part as it landed; does not wait. {@code dst} comes from
     * {@link #deviceImportBuffer}.
     */
    default void importLayerFromDevice(KvImportBuffer dst, int layer, int[] slots, long arenaId, long keyOffset,
                                       long valueOffset) {
        throw new UnsupportedOperationException(description() + " imports no KV from device memory");
    }

    /**
     * Waits for every copy queued into {@code dst} and writes the CRC32C of each layer part as it landed into
     * {@code crcs} ({@code 2 * layer} K, {@code 2 * layer + 1} V; 0 for parts never copied).
     */
    default void importedChecksums(KvImportBuffer dst, int[] crcs) {
        throw new UnsupportedOperationException(description() + " imports no KV from device memory");
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
