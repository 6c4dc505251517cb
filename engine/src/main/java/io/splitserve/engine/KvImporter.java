package io.splitserve.engine;

import io.splitserve.engine.forward.ModelRunner;
import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import io.splitserve.engine.kv.PrefixMatch;

/**
 * The bookkeeping of KV computed elsewhere and written into this engine's pages: reserving pages and host memory for
 * it (or, for KV copied straight from another engine's device memory, only bookkeeping memory), copying each complete
 * layer into the pages, and settling it exactly once, either for admission (every layer
 * copied, host memory returned, pages handed on) or by release (pages back to the pool). An import may begin with
 * tokens this engine holds in its prefix cache: those pages are shared (one more reference each) instead of written.
 * It knows the page pool and the runner's copy, never the scheduling of sequences.
 */
final class KvImporter {
    private final BlockManager blocks;
    private final ModelRunner runner;
    private final int rowBytes;
    private final int layers;
    private final int maxTokens;
    private final PrefixMatch match = new PrefixMatch();

    KvImporter(BlockManager blocks, ModelRunner runner, int rowBytes, int layers, int maxTokens) {
        this.blocks = blocks;
        this.runner = runner;
        this.rowBytes = rowBytes;
        this.layers = layers;
        this.maxTokens = maxTokens;
    }

    /**
     * Pages and host memory for {@code tokens} tokens of KV whose first {@code cachedTokens} are taken from the prefix
     * cache ({@link #cachedPrefix} must have said it holds them), or null (taking nothing) when the pages are not free.
     */
    ImportedKv reserve(int tokens, int[] tokenIds, int cachedTokens, boolean fromDevice) {
        checkLength(tokens);
        checkIds(tokens, tokenIds);
        findCached(tokens, tokenIds, cachedTokens);
        if (blocks.pagesFor(tokens) - match.pageCount() > blocks.freePages() - match.idlePages()) {
            return null;
        }
        final int imported = tokens - cachedTokens;
        final ImportedKv kv = new ImportedKv(tokens, cachedTokens, rowBytes, layers,
                fromDevice ? runner.deviceImportBuffer(imported) : runner.importBuffer(imported), fromDevice, tokenIds);
        if (cachedTokens > 0) {
            blocks.share(match, kv.table, tokens);
        }
        blocks.ensureCapacity(kv.table, kv.tokens());
        for (int t = 0; t < imported; t++) {
            kv.slots[t] = blocks.slot(kv.table, cachedTokens + t);
        }
        return kv;
    }

    /**
     * Leading tokens of {@code tokenIds[0, length)} whose KV the prefix cache holds now in whole pages, at most
     * {@code maxTokens} and never the last token.
     */
    int cachedPrefix(int[] tokenIds, int length, int maxTokens) {
        final int pages = Math.min(Math.max(0, maxTokens) / blocks.pageSize(), (length - 1) / blocks.pageSize());
        if (pages <= 0) {
            return 0;
        }
        blocks.lookup(tokenIds, length, pages, match);
        return match.pageCount() * blocks.pageSize();
    }

    /**
     * Puts the cached pages of {@code tokenIds}' first {@code cachedTokens} tokens into empty {@code table} (one more
     * reference each) and counts the lookup; with 0 it only counts a lookup that found nothing to take.
     */
    void shareCached(int[] tokenIds, int cachedTokens, BlockTable table) {
        findCached(tokenIds.length, tokenIds, cachedTokens);
        blocks.share(match, table, tokenIds.length);
    }

    private void findCached(int tokens, int[] tokenIds, int cachedTokens) {
        match.clear();
        if (cachedTokens == 0) {
            return;
        }
        if (cachedTokens < 0 || cachedTokens >= tokens || tokenIds == null) {
            throw new IllegalArgumentException(cachedTokens + " cached tokens of an import of " + tokens + " tokens"
                    + (tokenIds == null ? " without token ids" : ""));
        }
        if (cachedPrefix(tokenIds, tokens, cachedTokens) != cachedTokens) {
            throw new IllegalStateException("the prefix cache does not hold the first " + cachedTokens + " tokens"
                    + " in whole pages of " + blocks.pageSize());
        }
    }

    private void checkLength(int tokens) {
        if (tokens <= 0 || tokens >= maxTokens) {
            throw new IllegalArgumentException("imported KV of " + tokens + " tokens: the model's context is "
                    + maxTokens + " tokens");
        }
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
