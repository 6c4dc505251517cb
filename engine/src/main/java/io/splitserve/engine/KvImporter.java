package io.splitserve.engine;

import io.splitserve.engine.forward.ModelRunner;
import io.splitserve.engine.kv.BlockManager;

/**
 * The bookkeeping of KV computed elsewhere and written into this engine's pages: reserving pages and host memory for
 * it (or, for KV copied straight from another engine's device memory, only bookkeeping memory), copying each complete
 * layer into the pages, and settling it exactly once, either for admission (every layer
 * copied, host memory returned, pages handed on) or by release (pages back to the pool). It knows the page pool and
 * the runner's copy, never the scheduling of sequences.
 */
final class KvImporter {
    private final BlockManager blocks;
    private final ModelRunner runner;
    private final int rowBytes;
    private final int layers;
    private final int maxTokens;

    KvImporter(BlockManager blocks, ModelRunner runner, int rowBytes, int layers, int maxTokens) {
        this.blocks = blocks;
        this.runner = runner;
        this.rowBytes = rowBytes;
        this.layers = layers;
        this.maxTokens = maxTokens;
    }

    /** Pages and host memory for {@code tokens} tokens of KV, or null (taking nothing) when the pages are not free. */
    ImportedKv reserve(int tokens, int[] tokenIds) {
        checkLength(tokens);
        checkIds(tokens, tokenIds);
        if (blocks.pagesFor(tokens) > blocks.freePages()) {
            return null;
        }
        return withSlots(new ImportedKv(tokens, rowBytes, layers, runner.importBuffer(tokens), false, tokenIds));
    }

    private void checkLength(int tokens) {
        if (tokens <= 0 || tokens >= maxTokens) {
            throw new IllegalArgumentException("imported KV of " + tokens + " tokens: the model's context is "
                    + maxTokens + " tokens");
        }
    }

    private ImportedKv withSlots(ImportedKv kv) {
        blocks.ensureCapacity(kv.table, kv.tokens());
        for (int t = 0; t < kv.tokens(); t++) {
            kv.slots[t] = blocks.slot(kv.table, t);
        }
        return kv;
    }

    /** Pages and device-import bookkeeping for {@code tokens} tokens, or null when the pages are not free. */
    ImportedKv reserveFromDevice(int tokens, int[] tokenIds) {
        checkLength(tokens);
        checkIds(tokens, tokenIds);
        if (blocks.pagesFor(tokens) > blocks.freePages()) {
            return null;
        }
        return withSlots(new ImportedKv(tokens, rowBytes, layers, runner.deviceImportBuffer(tokens), true, tokenIds));
    }

    private static void checkIds(int tokens, int[] tokenIds) {
        if (tokenIds != null && tokenIds.length != tokens) {
            throw new IllegalArgumentException(tokenIds.length + " token ids for " + tokens + " tokens of imported KV");
        }
    }

    /** Queues one layer's copy from a mapped peer arena into the pages (see {@link Engine#importLayerFromDevice}). */
    void importLayerFromDevice(ImportedKv kv, int layer, long arenaId, long keyOffset, long valueOffset) {
        kv.checkOpen();
        kv.checkLayer(layer);
        if (!kv.fromDevice) {
            throw new IllegalStateException("a host-memory import takes its layers from host memory");
        }
        runner.importLayerFromDevice(kv.buffer, layer, kv.slots, arenaId, keyOffset, valueOffset);
        kv.layerImported[layer] = true;
    }

    /** Waits for a device import's copies and reads each part's checksum as it landed. */
    void checksums(ImportedKv kv, int[] crcs) {
        kv.checkOpen();
        if (!kv.fromDevice) {
            throw new IllegalStateException("only a device import has checksums computed on the device");
        }
        runner.importedChecksums(kv.buffer, crcs);
    }

    /** Starts copying one complete layer from the host memory into the pages (see {@link Engine#importLayer}). */
    void importLayer(ImportedKv kv, int layer) {
        kv.checkOpen();
        kv.checkLayer(layer);
        if (kv.fromDevice) {
            throw new IllegalStateException("a device import takes its layers from the exporter's device memory");
        }
        runner.importLayer(kv.buffer, layer, kv.slots);
        kv.layerImported[layer] = true;
    }

    /**
     * Copies every layer not yet copied, waits for all copies (closing the host memory does) and settles the import;
     * its pages, still in {@code kv.table}, are the caller's to hand to a sequence.
     */
    void settleForAdmission(ImportedKv kv) {
        kv.checkOpen();
        for (int layer = 0; layer < kv.layers(); layer++) {
            if (!kv.layerImported[layer]) {
                if (kv.fromDevice) {
                    throw new IllegalStateException("layer " + layer + " of a device import was never copied in");
                }
                importLayer(kv, layer);
            }
        }
        kv.settled = true;
        kv.buffer.close();
    }

    /** Returns an import's pages to the pool once no copy into them still runs; a settled import is left alone. */
    void release(ImportedKv kv) {
        if (!kv.settled) {
            kv.settled = true;
            kv.buffer.close();
            blocks.release(kv.table);
        }
    }
}
