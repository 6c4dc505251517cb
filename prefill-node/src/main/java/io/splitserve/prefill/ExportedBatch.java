package io.splitserve.prefill;

import io.splitserve.engine.forward.DeviceKvArena;

/**
 * One prefill batch's range of the engine's export arena (the GPU KV path), held while any of the batch's transfers
 * may still be copied from it: each transfer's lease holds it once, and the range goes back to the arena when the
 * last lease ends, never earlier (a decode node may copy a layer until it has acked). Owned by the agent's thread.
 */
final class ExportedBatch {
    private final DeviceKvArena arena;
    private final long offset;
    private int holders;

    ExportedBatch(DeviceKvArena arena, long offset, int holders) {
        this.arena = arena;
        this.offset = offset;
        this.holders = holders;
    }

    long offset() {
        return offset;
    }

    /** One transfer's lease ended; the range returns to the arena with the last. */
    void release() {
        if (holders <= 0) {
            throw new IllegalStateException("export range at " + offset + " released more often than it was held");
        }
        if (--holders == 0) {
            arena.free(offset);
        }
    }
}
