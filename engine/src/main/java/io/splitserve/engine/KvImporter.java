package io.splitserve.engine;

import io.splitserve.engine.forward.ModelRunner;
import io.splitserve.engine.kv.BlockManager;

/**
 * The bookkeeping of KV computed elsewhere and written into this engine's pages: reserving pages and host memory for
 * it, copying each complete layer into the pages, and settling it exactly once, either for admission (every layer
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
    ImportedKv reserve(int tokens) {
        if (tokens <= 0 || tokens >= maxTokens) {
            throw new IllegalArgumentException("imported KV of " + tokens + " tokens: the model's context is "
                    + maxTokens + " tokens");
        }
        if (blocks.pagesFor(tokens) > blocks.freePages()) {
            return null;
        }
        final ImportedKv kv = new ImportedKv(tokens, rowBytes, layers, runner.importBuffer(tokens));
        blocks.ensureCapacity(kv.table, tokens);
        for (int t = 0; t < tokens; t++) {
            kv.slots[t] = blocks.slot(kv.table, t);
        }
        return kv;
    }

    /** Starts copying one complete layer from the host memory into the pages (see {@link Engine#importLayer}). */
    void importLayer(ImportedKv kv, int layer) {
        kv.checkOpen();
        kv.checkLayer(layer);
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
