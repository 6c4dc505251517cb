package io.splitserve.kvtransfer;

import io.splitserve.sbe.KvPart;
import java.nio.ByteBuffer;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A {@link KvPageStore} in direct host memory, laid out like the engine's page pool: for K and then for V,
 * {@code [layers][pages][pageSize][kvHeads][headDim]}. It exists so the transfer protocol can be exercised and
 * measured without an engine: the KV benchmark receives into it, and tests read back what arrived ({@link #read}) and
 * count free pages to prove every failing path released its reservation. A reservation is its own block table (page
 * {@code i} holds tokens {@code [i * pageSize, (i + 1) * pageSize)}), so a write needs no lookup.
 *
 * <p>The free list is guarded by this object's monitor, so reservations may be taken and released from any
 * thread; writes and reads touch only the pages of the reservation they are given and take no lock. Releasing a
 * reservation twice, or handing in one this store did not make, is an error rather than a corrupted free list.
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

    /** Pages set aside for one sequence, in token order. */
    private static final class PageReservation implements KvReservation
    {
        private final HostKvPageStore store;
        private final int tokens;
        private final int[] pages;
        private boolean released;

        private PageReservation(final HostKvPageStore store, final int tokens, final int[] pages)
        {
            this.store = store;
            this.tokens = tokens;
            this.pages = pages;
        }

        @Override
        public int tokens()
        {
            return tokens;
        }
    }

    private HostKvPageStore(final KvGeometry geometry, final int pageCount, final int pageSize)
    {
        this.geometry = geometry;
        this.pageSize = pageSize;
        this.pageCount = pageCount;
        this.pageBytes = pageSize * geometry.rowBytes();
        this.layerPartBytes = (long)pageCount * pageBytes;
        this.memory = new UnsafeBuffer(ByteBuffer.allocateDirect((int)(2L * geometry.layers() * layerPartBytes)));
        this.freeList = new int[pageCount];
        for (int i = 0; i < pageCount; i++)
        {
            freeList[i] = pageCount - 1 - i;
        }
        this.freeCount = pageCount;
    }

    /**
     * A store of {@code pageCount} pages of {@code pageSize} tokens over freshly allocated direct memory.
     *
     * @throws IllegalArgumentException when a size is not positive or the store would exceed 2 GiB, the most one
     * buffer addresses.
     */
    public static HostKvPageStore allocate(final KvGeometry geometry, final int pageCount, final int pageSize)
    {
        if (pageCount <= 0 || pageSize <= 0)
        {
            throw new IllegalArgumentException("page count and page size must be positive, got " + pageCount + ", " + pageSize);
        }
        final long bytes = 2L * geometry.layers() * pageCount * pageSize * geometry.rowBytes();
        if (bytes > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("a host page store is limited to 2 GiB, " + pageCount + " pages of " +
                pageSize + " tokens for " + geometry + " need " + bytes + " bytes");
        }
        return new HostKvPageStore(geometry, pageCount, pageSize);
    }

    @Override
    public KvGeometry geometry()
    {
        return geometry;
    }

    public int pageCount()
    {
        return pageCount;
    }

    public synchronized int freePages()
    {
        return freeCount;
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
        return new PageReservation(this, tokens, pages);
    }

    /**
     * @throws IllegalStateException when the reservation was already released.
     * @throws IllegalArgumentException when another store made it.
     */
    @Override
    public synchronized void release(final KvReservation reservation)
    {
        final PageReservation pages = resolve(reservation);
        if (pages.released)
        {
            throw new IllegalStateException("a reservation of " + pages.tokens + " tokens was released twice");
        }
        pages.released = true;
        for (int i = 0; i < pages.pages.length; i++)
        {
            freeList[freeCount++] = pages.pages[i];
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
        copy(resolve(reservation), layer, part, byteOffset, src, srcIndex, length, true);
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
        copy(resolve(reservation), layer, part, byteOffset, dst, dstIndex, length, false);
    }

    // walks the logical byte range page by page; into the store from other, or out of it into other (then mutable)
    private void copy(
        final PageReservation reservation,
        final int layer,
        final KvPart part,
        final long byteOffset,
        final DirectBuffer other,
        final int otherIndex,
        final int length,
        final boolean intoStore)
    {
        if (layer < 0 || layer >= geometry.layers() || byteOffset < 0 || length < 0 ||
            byteOffset + length > geometry.partBytes(reservation.tokens))
        {
            throw new IndexOutOfBoundsException("layer " + layer + " bytes [" + byteOffset + ", " + (byteOffset + length) +
                ") outside a reservation of " + reservation.tokens + " tokens of " + geometry);
        }
        long offset = byteOffset;
        int index = otherIndex;
        int remaining = length;
        while (remaining > 0)
        {
            final int pageOrdinal = (int)(offset / pageBytes);
            final int inPage = (int)(offset - (long)pageOrdinal * pageBytes);
            final int bytes = Math.min(remaining, pageBytes - inPage);
            final int at = pageOffset(layer, part, reservation.pages[pageOrdinal]) + inPage;
            if (intoStore)
            {
                memory.putBytes(at, other, index, bytes);
            }
            else
            {
                memory.getBytes(at, (MutableDirectBuffer)other, index, bytes);
            }
            offset += bytes;
            index += bytes;
            remaining -= bytes;
        }
    }

    private int pageOffset(final int layer, final KvPart part, final int page)
    {
        return (int)(((long)part.value() * geometry.layers() + layer) * layerPartBytes + (long)page * pageBytes);
    }

    private PageReservation resolve(final KvReservation reservation)
    {
        if (!(reservation instanceof PageReservation) || ((PageReservation)reservation).store != this)
        {
            throw new IllegalArgumentException("not a reservation of this store: " + reservation);
        }
        return (PageReservation)reservation;
    }
}
