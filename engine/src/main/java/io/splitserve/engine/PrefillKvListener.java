package io.splitserve.engine;

/**
 * Receives, per prompt of an {@link Engine#prefill} batch and per layer, the K and V of that prompt's tokens as soon as
 * the layer is computed. Each part is {@code tokens * kvHeads * headDim} floats from {@code offset}, laid out
 * {@code [tokens][kvHeads][headDim]} (the KV wire layout). The arrays are reused for the next layer: copy or send
 * before returning.
 */
@FunctionalInterface
public interface PrefillKvListener {
    void onLayerKv(int prompt, int layer, float[] keys, float[] values, int offset, int tokens);
}
