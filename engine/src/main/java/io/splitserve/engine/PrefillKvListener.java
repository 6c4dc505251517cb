package io.splitserve.engine;

import java.nio.ByteBuffer;

/**
 * Receives, per prompt of an {@link Engine#prefill} batch and per layer, the K and V of that prompt's tokens as soon as
 * the layer is computed. The prompt's K rows start at byte {@code keyOffset} of {@code keys}, its V rows at
 * {@code valueOffset} of {@code values}: {@code tokens * kvHeads * headDim} little-endian elements of
 * {@link Engine#kvWireType()} each, laid out {@code [tokens][kvHeads][headDim]} (the KV wire layout). The buffers are
 * read with absolute indexes and reused afterwards: copy or send before returning.
 */
@FunctionalInterface
public interface PrefillKvListener {
    void onLayerKv(int prompt, int layer, ByteBuffer keys, int keyOffset, ByteBuffer values, int valueOffset,
                   int tokens);
}
