package io.splitserve.engine.forward;

/**
 * Receives one layer's freshly computed K and V for every token of a step, while later layers have not run yet: the
 * hook that lets a prefill node stream the KV cache layer by layer. Both arrays are {@code [stepTokens][kvHeads]
 * [headDim]} (RoPE and head norms applied, exactly what the cache holds), rows in step order; they are work buffers
 * overwritten by the next layer, so a listener copies what it keeps before returning.
 */
@FunctionalInterface
public interface LayerKvListener {
    void onLayerKv(int layer, float[] keys, float[] values);
}
