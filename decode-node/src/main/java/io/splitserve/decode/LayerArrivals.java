package io.splitserve.decode;

/**
 * Counts the bytes of one incoming sequence's KV per layer part, to say when a layer's K and V have both arrived so
 * that layer can be imported while later layers are still on the way. Parts and chunks may arrive in any order.
 *
 * <p>Counting bytes rather than ranges is exact for a well-behaved sender: it sends each range once, Aeron delivers a
 * session's stream once and in order, and the receiver writes each payload once at its own offset. The receiver does
 * not reject a repeated range, though, so against a sender that repeats one a layer may look complete early: a layer
 * is reported complete only once, and any later write into it is reported as a rewrite, so the caller imports that
 * layer again at admission and the pages still end up holding the final bytes.
 */
final class LayerArrivals {
    private final long partBytes;
    private final long[] received;
    private final boolean[] complete;

    LayerArrivals(int layers, long partBytes) {
        this.partBytes = partBytes;
        this.received = new long[2 * layers];
        this.complete = new boolean[layers];
    }

    /** True when {@code layer} was already reported complete, so any write into it now rewrites imported bytes. */
    boolean isComplete(int layer) {
        return complete[layer];
    }

    /**
     * Counts {@code length} bytes written into {@code layer}'s K ({@code value} false) or V; true exactly once per
     * layer, on the write after which both parts have all their bytes.
     */
    boolean add(int layer, boolean value, int length) {
        final int part = 2 * layer + (value ? 1 : 0);
        received[part] += length;
        if (complete[layer] || received[2 * layer] < partBytes || received[2 * layer + 1] < partBytes) {
            return false;
        }
        complete[layer] = true;
        return true;
    }
}
