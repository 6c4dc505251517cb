package io.splitserve.kvtransfer;

import io.splitserve.sbe.KvPart;
import java.nio.ByteBuffer;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A {@link KvPageStore} in host memory, laid out like the engine's page pool: for K and then for V,
 * {@code [layers][pages][pageSize][kvHeads][headDim]}. It serves the CPU path and tests, and, built over pinned
 * memory, stages pages for asynchronous copies to a GPU.
 *
 * <p>The free list is guarded by this object's monitor, so reservations may be taken and released from any
 * thread; writes and reads touch only the pages of the reservation they are given and take no lock.
 */
public final class HostKvPageStore implements KvPageStore
{
    private final KvGeometry geometry;
    private final int pageSize;
    private final int pageCount;
    private final int pageBytes;
    private final long layerPartBytes;
    private final UnsafeBuffer memory;
    private final int[] freeList;
    private int freeCount;

    /**
     * A store over {@code memory}, which must hold at least {@link #requiredBytes} bytes.
     *
     * @throws IllegalArgumentException when the memory is too small or the sizes are not positive.
     */
    public HostKvPageStore(final KvGeometry geometry, final int pageCount, final int pageSize, final UnsafeBuffer memory)
    {
        if (pageCount <= 0 || pageSize <= 0)
        {
            throw new IllegalArgumentException("page count and page size must be positive, got " + pageCount + ", " + pageSize);
        }
        final long required = requiredBytes(geometry, pageCount, pageSize);
        if (required > memory.capacity())
        {
            throw new IllegalArgumentException(
                "a host page store of " + pageCount + " pages of " + pageSize + " tokens for " + geometry + " needs " +
                required + " bytes, the memory given holds " + memory.capacity());
        }
        this.geometry = geometry;
        this.pageSize = pageSize;
        this.pageCount = pageCount;
        this.pageBytes = pageSize * geometry.rowBytes();
        this.layerPartBytes = (long)pageCount * pageBytes;
        this.memory = memory;
        this.freeList = new int[pageCount];
        for (int i = 0; i < pageCount; i++)
        {
            freeList[i] = pageCount - 1 - i;
        }
        this.freeCount = pageCount;
    }

    /** A store over freshly allocated direct memory. */
    public static HostKvPageStore allocate(final KvGeometry geometry, final int pageCount, final int pageSize)
    {
        return new HostKvPageStore(geometry, pageCount, pageSize,
            new UnsafeBuffer(ByteBuffer.allocateDirect((int)requiredBytes(geometry, pageCount, pageSize))));
    }

    /**
     * Bytes of memory a store of these dimensions needs.
     *
     * @throws IllegalArgumentException above 2 GiB, the most one buffer addresses.
     */
    public static long requiredBytes(final KvGeometry geometry, final int pageCount, final int pageSize)
    {
        final long bytes = 2L * geometry.layers() * pageCount * pageSize * geometry.rowBytes();
        if (bytes > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("a host page store is limited to 2 GiB, " + bytes + " bytes requested");
        }
        return bytes;
    }

    @Override
    public KvGeometry geometry()
    {
        return geometry;
    }

    @Override
    public int pageSize()
    {
        return pageSize;
    }

    public int pageCount()
    {
        return pageCount;
    }

    public synchronized int freePages()
    {
        return freeCount;
    }

    /** The whole backing memory, e.g. to copy pages to a device. */
    public UnsafeBuffer memory()
    {
        return memory;
    }

    /** Offset in {@link #memory()} of page {@code page} of layer {@code layer}'s {@code part}. */
    public int pageOffset(final int layer, final KvPart part, final int page)
    {
        return (int)(((long)part.value() * geometry.layers() + layer) * layerPartBytes + (long)page * pageBytes);
    }

    @Override
    public synchronized KvReservation reserve(final int tokens)
    {
        final int needed = (tokens + pageSize - 1) / pageSize;
        if (tokens <= 0 || needed > freeCount)
        {
            return null;
        }
        final int[] pages = new int[needed];
        for (int i = 0; i < needed; i++)
        {
            pages[i] = freeList[--freeCount];
        }
        return new KvReservation(tokens, pages);
    }

    @Override
    public synchronized void release(final KvReservation reservation)
    {
        for (int i = 0; i < reservation.pageCount(); i++)
        {
            freeList[freeCount++] = reservation.page(i);
        }
    }

    @Override
    public void write(
        final KvReservation reservation,
        final int layer,
        final KvPart part,
        final long byteOffset,
        final DirectBuffer src,
        final int srcIndex,
        final int length)
    {
        checkBounds(reservation, layer, byteOffset, length);
        long offset = byteOffset;
        int index = srcIndex;
        int remaining = length;
        while (remaining > 0)
        {
            final int pageOrdinal = (int)(offset / pageBytes);
            final int inPage = (int)(offset - (long)pageOrdinal * pageBytes);
            final int bytes = Math.min(remaining, pageBytes - inPage);
            memory.putBytes(pageOffset(layer, part, reservation.page(pageOrdinal)) + inPage, src, index, bytes);
            offset += bytes;
            index += bytes;
            remaining -= bytes;
        }
    }

    /** Copy bytes out of the reservation, addressed like {@link #write}: the inverse of {@code write}. */
    public void read(
        final KvReservation reservation,
        final int layer,
        final KvPart part,
        final long byteOffset,
        final MutableDirectBuffer dst,
        final int dstIndex,
        final int length)
    {
        checkBounds(reservation, layer, byteOffset, length);
        long offset = byteOffset;
        int index = dstIndex;
        int remaining = length;
        while (remaining > 0)
        {
            final int pageOrdinal = (int)(offset / pageBytes);
            final int inPage = (int)(offset - (long)pageOrdinal * pageBytes);
            final int bytes = Math.min(remaining, pageBytes - inPage);
            memory.getBytes(pageOffset(layer, part, reservation.page(pageOrdinal)) + inPage, dst, index, bytes);
            offset += bytes;
            index += bytes;
            remaining -= bytes;
        }
    }

    private void checkBounds(final KvReservation reservation, final int layer, final long byteOffset, final int length)
    {
        if (layer < 0 || layer >= geometry.layers() || byteOffset < 0 || length < 0 ||
            byteOffset + length > geometry.partBytes(reservation.tokens()))
        {
            throw new IndexOutOfBoundsException("layer " + layer + " bytes [" + byteOffset + ", " + (byteOffset + length) +
                ") outside a reservation of " + reservation.tokens() + " tokens of " + geometry);
        }
    }
}
