package io.splitserve.kvtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/** Reservations are all-or-nothing, and writes at any byte offset land in the right token of the right page. */
class HostKvPageStoreTest
{
    private final KvGeometry geometry = new KvGeometry(2, 1, 4, KvDtype.F32); // 16-byte rows

    @Test
    void refusesWhenPagesRunOutAndReservesNothing()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(geometry, 4, 5);
        final KvReservation first = store.reserve(11);
        assertNotNull(first);
        assertEquals(3, first.pageCount());
        assertEquals(1, store.freePages());
        assertNull(store.reserve(6));
        assertEquals(1, store.freePages());
        store.release(first);
        assertEquals(4, store.freePages());
        assertNotNull(store.reserve(20));
    }

    @Test
    void writesSplitAnywhereScatterIntoTokenRowsOfEachPage()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(geometry, 6, 3);
        store.reserve(2); // so the next reservation's pages are not the first ones
        final int tokens = 8;
        final KvReservation reservation = store.reserve(tokens);
        final UnsafeBuffer source = KvTestData.random(geometry.partBytes(tokens), 1);
        // odd pieces that start and end inside rows and cross page boundaries
        int offset = 0;
        for (final int piece : new int[] {7, 30, 1, 50, 40})
        {
            store.write(reservation, 1, KvPart.V, offset, source, offset, piece);
            offset += piece;
        }
        assertEquals(source.capacity(), offset);

        for (int token = 0; token < tokens; token++)
        {
            final int page = reservation.page(token / 3);
            final int at = store.pageOffset(1, KvPart.V, page) + (token % 3) * geometry.rowBytes();
            for (int b = 0; b < geometry.rowBytes(); b++)
            {
                assertEquals(source.getByte(token * geometry.rowBytes() + b), store.memory().getByte(at + b),
                    "token " + token + " byte " + b);
            }
        }
        final UnsafeBuffer back = new UnsafeBuffer(ByteBuffer.allocateDirect(source.capacity()));
        store.read(reservation, 1, KvPart.V, 0, back, 0, source.capacity());
        assertEquals(0, back.compareTo(source));
        final UnsafeBuffer otherPart = new UnsafeBuffer(ByteBuffer.allocateDirect(source.capacity()));
        store.read(reservation, 1, KvPart.K, 0, otherPart, 0, source.capacity());
        assertNotEquals(0, otherPart.compareTo(source));
    }

    @Test
    void rejectsWritesOutsideTheReservation()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(geometry, 2, 4);
        final KvReservation reservation = store.reserve(3);
        final UnsafeBuffer source = new UnsafeBuffer(new byte[64]);
        assertThrows(IndexOutOfBoundsException.class, () -> store.write(reservation, 0, KvPart.K, 40, source, 0, 16));
        assertThrows(IndexOutOfBoundsException.class, () -> store.write(reservation, 2, KvPart.K, 0, source, 0, 16));
    }

    @Test
    void refusesMemoryTooSmallWithAClearMessage()
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> new HostKvPageStore(geometry, 4, 4, new UnsafeBuffer(new byte[100])));
        assertEquals("a host page store of 4 pages of 4 tokens for " + geometry + " needs 1024 bytes, the memory given holds 100",
            ex.getMessage());
    }
}
