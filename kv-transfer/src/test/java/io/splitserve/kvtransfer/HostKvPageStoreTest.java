package io.splitserve.kvtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * Reservations are all-or-nothing and released exactly once, and writes at any byte offset come back intact without
 * touching another reservation's pages or the other part of the layer.
 */
class HostKvPageStoreTest
{
    private final KvGeometry geometry = new KvGeometry(2, 1, 4, KvDtype.F32); // 16-byte rows

    @Test
    void refusesWhenPagesRunOutAndReservesNothing()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(geometry, 4, 5);
        final KvReservation first = store.reserve(11);
        assertNotNull(first);
        assertEquals(11, first.tokens());
        assertEquals(1, store.freePages());
        assertNull(store.reserve(6));
        assertEquals(1, store.freePages());
        store.release(first);
        assertEquals(4, store.freePages());
        assertNotNull(store.reserve(20));
    }

    @Test
    void writesSplitAnywhereAcrossPagesComeBackAndLeaveOtherPagesAlone()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(geometry, 6, 3);
        final int tokens = 8;
        final KvReservation neighbour = store.reserve(tokens);
        final KvReservation reservation = store.reserve(tokens);
        final UnsafeBuffer neighbourBytes = KvTestData.random(geometry.partBytes(tokens), 2);
        store.write(neighbour, 1, KvPart.V, 0, neighbourBytes, 0, neighbourBytes.capacity());
        store.write(reservation, 1, KvPart.K, 0, neighbourBytes, 0, neighbourBytes.capacity());

        final UnsafeBuffer source = KvTestData.random(geometry.partBytes(tokens), 1);
        // odd pieces that start and end inside rows and cross page boundaries (3 tokens = 48 bytes a page)
        int offset = 0;
        for (final int piece : new int[] {7, 30, 1, 50, 40})
        {
            store.write(reservation, 1, KvPart.V, offset, source, offset, piece);
            offset += piece;
        }
        assertEquals(source.capacity(), offset);

        assertEquals(0, read(store, reservation, KvPart.V, source.capacity()).compareTo(source));
        assertEquals(0, read(store, neighbour, KvPart.V, source.capacity()).compareTo(neighbourBytes),
            "another reservation's pages are untouched");
        assertEquals(0, read(store, reservation, KvPart.K, source.capacity()).compareTo(neighbourBytes),
            "the other part of the layer is untouched");
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
    void aSecondReleaseIsAnErrorAndFreesNothing()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(geometry, 4, 4);
        final KvReservation reservation = store.reserve(5);
        store.release(reservation);
        final IllegalStateException ex = assertThrows(IllegalStateException.class, () -> store.release(reservation));
        assertEquals("a reservation of 5 tokens was released twice", ex.getMessage());
        assertEquals(4, store.freePages());
    }

    @Test
    void refusesAReservationItDidNotMake()
    {
        final HostKvPageStore store = HostKvPageStore.allocate(geometry, 4, 4);
        final KvReservation foreign = HostKvPageStore.allocate(geometry, 4, 4).reserve(4);
        final UnsafeBuffer source = new UnsafeBuffer(new byte[16]);
        assertThrows(IllegalArgumentException.class, () -> store.write(foreign, 0, KvPart.K, 0, source, 0, 16));
        assertThrows(IllegalArgumentException.class, () -> store.release(foreign));
        assertEquals(4, store.freePages());
    }

    @Test
    void refusesAStoreOver2GiBWithAClearMessage()
    {
        final KvGeometry llama = new KvGeometry(32, 8, 128, KvDtype.BF16);
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> HostKvPageStore.allocate(llama, 1024, 16));
        assertEquals("a host page store is limited to 2 GiB, 1024 pages of 16 tokens for " + llama + " need 2147483648 bytes",
            ex.getMessage());
    }

    private static UnsafeBuffer read(
        final HostKvPageStore store, final KvReservation reservation, final KvPart part, final int length)
    {
        final UnsafeBuffer bytes = new UnsafeBuffer(ByteBuffer.allocateDirect(length));
        store.read(reservation, 1, part, 0, bytes, 0, length);
        return bytes;
    }
}
