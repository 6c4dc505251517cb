package io.splitserve.engine.forward;

/**
 * Receives each layer of a step whose KV a runner exports into its {@link DeviceKvArena}, once the layer's rows have
 * landed there (in layer order, while later layers may still compute), with the CRC32C computed on the GPU of each
 * sequence's K and V rows: {@code crcs[2 * seq]} for K and {@code crcs[2 * seq + 1]} for V, sequences in step order.
 * The array is reused for the next layer: read it before returning.
 */
@FunctionalInterface
public interface DeviceLayerListener {
    void onLayerExported(int layer, int[] crcs);
}
