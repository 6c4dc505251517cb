package io.splitserve.engine.forward;

import java.nio.ByteBuffer;

/**
 * Receives one layer's freshly computed K and V for every token of a step, while later layers may still be
 * computing: the hook that lets a prefill node stream the KV cache layer by layer. K rows start at byte
 * {@code keyOffset} of {@code keys} and V rows at {@code valueOffset} of {@code values}, each {@code [stepTokens]
 * [kvHeads][headDim]} little-endian elements of the runner's {@link KvWireType} (RoPE and head norms applied, exactly
 * what the cache holds), rows in step order. The buffers are read with absolute indexes and are reused by later
 * steps (and, on the CPU, by the next layer), so a listener copies or sends what it keeps before returning.
 */
@FunctionalInterface
public interface LayerKvListener {
    void onLayerKv(int layer, ByteBuffer keys, int keyOffset, ByteBuffer values, int valueOffset);
}
