package io.splitserve.engine.cuda;

import io.splitserve.model.ModelConfig;
import io.splitserve.kernels.cuda.DeviceBuffer;

/**
 * The KV page pools of every layer on the GPU in bf16: per layer one buffer for K and one for V, each
 * {@code [pages][pageSize][kvHeads][headDim]}, addressed by slot = page * pageSize + offset. Page ownership is
 * tracked by the engine's {@code BlockManager}; this class only holds the bytes, and a device table of every layer
 * part's address (K and V of layer 0, then of layer 1, ...) for kernels that touch all layers in one launch.
 */
final class KvPool implements AutoCloseable {
    private final DeviceBuffer[] keys;
    private final DeviceBuffer[] values;
    private DeviceBuffer layerParts;
    private final int pageCount;
    private final int pageSize;

    KvPool(ModelConfig config, int pageCount, int pageSize) {
        this.pageCount = pageCount;
        this.pageSize = pageSize;
        final long perLayer = (long) pageCount * pageSize * config.kvDim() * 2;
        keys = new DeviceBuffer[config.numLayers()];
        values = new DeviceBuffer[config.numLayers()];
        try {
            for (int l = 0; l < keys.length; l++) {
                keys[l] = DeviceBuffer.allocate(perLayer);
                values[l] = DeviceBuffer.allocate(perLayer);
            }
            final long[] addresses = new long[2 * keys.length];
            for (int l = 0; l < keys.length; l++) {
                addresses[2 * l] = keys[l].address();
                addresses[2 * l + 1] = values[l].address();
            }
            layerParts = DeviceBuffer.allocate(8L * addresses.length);
            layerParts.copyFrom(addresses);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Bytes one page takes across all layers, K and V. */
    static long bytesPerPage(ModelConfig config, int pageSize) {
        return 2L * config.numLayers() * pageSize * config.kvDim() * 2;
    }

    /** Most pages whose slots still fit an int. */
    static int maxPages(int pageSize) {
        return (Integer.MAX_VALUE - pageSize) / pageSize;
    }

    long keys(int layer) {
        return keys[layer].address();
    }

    long values(int layer) {
        return values[layer].address();
    }

    DeviceBuffer keyPages(int layer) {
        return keys[layer];
    }

    DeviceBuffer valuePages(int layer) {
        return values[layer];
    }

    /** Device address of the table of {@link #layerPartCount()} pool addresses: K of layer 0, V of layer 0, ... */
    long layerParts() {
        return layerParts.address();
    }

    /** Pools in all: K and V of every layer. */
    int layerPartCount() {
        return 2 * keys.length;
    }

    int pageCount() {
        return pageCount;
    }

    int pageSize() {
        return pageSize;
    }

    /** Device bytes of every layer's K and V. */
    long bytes() {
        return 2L * keys.length * keys[0].bytes();
    }

    @Override
    public void close() {
        if (layerParts != null) {
            layerParts.close();
        }
        for (int l = 0; l < keys.length; l++) {
            if (keys[l] != null) {
                keys[l].close();
            }
            if (values[l] != null) {
                values[l].close();
            }
        }
    }
}
