package io.splitserve.engine.kv;

import java.util.Map;
import java.util.TreeMap;

/**
 * First-fit allocation of byte ranges inside one fixed region (the device memory a prefill node exports its KV
 * from), with neighbouring free ranges merged on release. Every range is a multiple of the alignment, so every offset
 * it hands out is aligned. Knows nothing of what the bytes hold.
 *
 * <p>Guarantees: handed-out ranges never overlap and lie inside the region; {@link #free} takes back exactly a range
 * handed out and not yet freed (anything else is an error naming it); free + used = capacity at all times.
 * Single-threaded.
 */
public final class RangeAllocator {
    private final long capacity;
    private final long alignment;
    /** Free ranges by offset, merged so no two touch. */
    private final TreeMap<Long, Long> free = new TreeMap<>();
    /** Ranges handed out, by offset. */
    private final TreeMap<Long, Long> used = new TreeMap<>();
    private long freeBytes;

    public RangeAllocator(long capacity, long alignment) {
        if (capacity < 0 || alignment <= 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("a region of " + capacity + " bytes aligned to " + alignment);
        }
        this.capacity = capacity - capacity % alignment;
        this.alignment = alignment;
        if (this.capacity > 0) {
            free.put(0L, this.capacity);
        }
        this.freeBytes = this.capacity;
    }

    /** The offset of a range of at least {@code bytes} bytes, or -1 when no free range is that large. */
    public long allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("a range of " + bytes + " bytes");
        }
        final long size = (bytes + alignment - 1) / alignment * alignment;
        for (Map.Entry<Long, Long> range : free.entrySet()) {
            final long offset = range.getKey();
            final long length = range.getValue(); // read before removal: TreeMap may reuse the entry for another key
            if (length >= size) {
                free.remove(offset);
                if (length > size) {
                    free.put(offset + size, length - size);
                }
                used.put(offset, size);
                freeBytes -= size;
                return offset;
            }
        }
        return -1;
    }

    /** Returns the range that starts at {@code offset}. */
    public void free(long offset) {
        final Long size = used.remove(offset);
        if (size == null) {
            throw new IllegalArgumentException("no range starts at " + offset + " (never handed out, or freed already)");
        }
        long start = offset;
        long length = size;
        final Map.Entry<Long, Long> before = free.floorEntry(offset);
        if (before != null && before.getKey() + before.getValue() == offset) {
            start = before.getKey();
            length += before.getValue();
            free.remove(before.getKey());
        }
        final Long after = free.get(offset + size);
        if (after != null) {
            length += after;
            free.remove(offset + size);
        }
        free.put(start, length);
        freeBytes += size;
    }

    public long capacity() {
        return capacity;
    }

    public long freeBytes() {
        return freeBytes;
    }

    /** The largest range {@link #allocate} could hand out now. */
    public long largestFree() {
        long largest = 0;
        for (long length : free.values()) {
            largest = Math.max(largest, length);
        }
        return largest;
    }

    /** Ranges handed out and not freed. */
    public int rangesInUse() {
        return used.size();
    }
}
