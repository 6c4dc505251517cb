package io.splitserve.engine.cuda;

/**
 * Sizes of the pinned host buffers KV moves through. Pinning and unpinning cost milliseconds per tens of megabytes
 * and unpinning waits for the whole device, so buffers are made in power-of-two size classes (at least 1 MiB) and
 * kept for reuse: after a short warm-up, prompts of every length find a buffer and serving never pins again.
 */
final class PinnedSizes {
    static final long MIN_BYTES = 1L << 20;

    private PinnedSizes() {}

    /** The size class holding {@code bytes}: the next power of two, at least 1 MiB, at most what one buffer can be. */
    static long sizeClass(long bytes) {
        if (bytes <= MIN_BYTES) {
            return MIN_BYTES;
        }
        final long power = Long.highestOneBit(bytes - 1) << 1;
        return power > Integer.MAX_VALUE ? bytes : power;
    }
}
