package io.splitserve.kvtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.splitserve.sbe.KvDtype;
import io.splitserve.sbe.KvPart;
import java.nio.ByteBuffer;
import java.util.function.BooleanSupplier;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * KV payloads for tests: pseudo-random bytes laid out as the sender reads them (per layer, K then V, each
 * {@code [tokens][kvHeads][headDim]}), a driver that streams a whole transfer, and a byte-exact check of what a
 * page store holds against the source.
 */
final class KvTestData
{
    /** Llama-3-8B: 128 KiB of KV per token, so 8 tokens are 1 MiB and 2048 tokens 256 MiB. */
    static final KvGeometry LLAMA3_8B = new KvGeometry(32, 8, 128, KvDtype.BF16);
    /** One layer, one head: 512 bytes of K and V per token, for transfers of a kilobyte or two. */
    static final KvGeometry TINY = new KvGeometry(1, 1, 128, KvDtype.BF16);
    /** Four layers, 256-byte rows: 2 KiB per token, for many small transfers at once. */
    static final KvGeometry SMALL = new KvGeometry(4, 2, 64, KvDtype.BF16);

    private KvTestData()
    {
    }

    static UnsafeBuffer random(final long bytes, final long seed)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(Math.toIntExact(bytes)));
        long state = seed * 0x9E3779B97F4A7C15L + 1;
        int i = 0;
        for (; i + Long.BYTES <= buffer.capacity(); i += Long.BYTES)
        {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            buffer.putLong(i, z ^ (z >>> 31));
        }
        for (; i < buffer.capacity(); i++)
        {
            buffer.putByte(i, (byte)(seed + i));
        }
        return buffer;
    }

    /** Index in a source buffer of layer {@code layer}'s {@code part}. */
    static int partIndex(final KvGeometry geometry, final int tokens, final int layer, final KvPart part)
    {
        return Math.toIntExact((2L * layer + part.value()) * geometry.partBytes(tokens));
    }

    /** Begin, every layer's K and V, End; asserts each step went out. */
    static void sendAll(
        final KvSender sender, final long requestId, final KvGeometry geometry, final int tokens, final UnsafeBuffer source,
        final int firstToken)
    {
        assertTrue(sender.begin(requestId, geometry, tokens), "begin " + requestId);
        for (int layer = 0; layer < geometry.layers(); layer++)
        {
            assertTrue(sender.sendLayer(requestId, layer,
                source, partIndex(geometry, tokens, layer, KvPart.K),
                source, partIndex(geometry, tokens, layer, KvPart.V)), "layer " + layer + " of " + requestId);
        }
        assertTrue(sender.end(requestId, firstToken), "end " + requestId);
    }

    /** Every byte of every layer part in the reservation equals the source. */
    static void assertStored(
        final HostKvPageStore store, final KvReservation reservation, final KvGeometry geometry, final int tokens,
        final UnsafeBuffer source)
    {
        assertEquals(tokens, reservation.tokens());
        final int partBytes = Math.toIntExact(geometry.partBytes(tokens));
        final UnsafeBuffer scratch = new UnsafeBuffer(ByteBuffer.allocateDirect(partBytes));
        for (int layer = 0; layer < geometry.layers(); layer++)
        {
            for (final KvPart part : new KvPart[] {KvPart.K, KvPart.V})
            {
                store.read(reservation, layer, part, 0, scratch, 0, partBytes);
                final int index = partIndex(geometry, tokens, layer, part);
                final int mismatch = source.byteBuffer().slice(index, partBytes).mismatch(scratch.byteBuffer().slice(0, partBytes));
                if (mismatch != -1)
                {
                    fail("layer " + layer + " " + part + " differs at byte " + mismatch + " of " + partBytes);
                }
            }
        }
    }

    /** Runs {@code duty} until {@code condition} holds, failing after {@code timeoutMs}. */
    static void await(final BooleanSupplier condition, final long timeoutMs, final String what, final Runnable duty)
    {
        final long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadline > 0)
            {
                fail("timed out after " + timeoutMs + " ms waiting for " + what);
            }
            duty.run();
            Thread.onSpinWait();
        }
    }

    /** Waits for both ends of a stream pair to see each other. */
    static void awaitConnected(final KvSender sender, final KvReceiver receiver)
    {
        await(() -> sender.isConnected() && receiver.isConnected(), 10_000, "sender and receiver to connect", Thread::yield);
    }
}
