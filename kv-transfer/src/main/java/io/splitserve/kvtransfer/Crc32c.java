package io.splitserve.kvtransfer;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.zip.CRC32C;
import org.agrona.DirectBuffer;

/**
 * CRC32C accumulated piece by piece over direct memory (Aeron term buffers, pinned staging) and heap arrays
 * without copying or allocating. It calls the JDK's own hardware-intrinsic update routines of
 * {@link java.util.zip.CRC32C}, which are private; that needs {@code --add-opens=java.base/java.util.zip=ALL-UNNAMED}
 * (part of the project's standard JVM flags), and fails at class load with a message naming the flag otherwise.
 *
 * <p>A running state starts at {@link #INITIAL}; {@link #update} returns the next state; {@link #finish} turns a
 * state into the checksum, equal to what {@link CRC32C#getValue()} gives for the same bytes.
 */
final class Crc32c
{
    static final int INITIAL = 0xFFFFFFFF;

    private static final MethodHandle UPDATE_ADDRESS;
    private static final MethodHandle UPDATE_ARRAY;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(CRC32C.class, MethodHandles.lookup());
            UPDATE_ADDRESS = lookup.findStatic(CRC32C.class, "updateDirectByteBuffer",
                MethodType.methodType(int.class, int.class, long.class, int.class, int.class));
            UPDATE_ARRAY = lookup.findStatic(CRC32C.class, "updateBytes",
                MethodType.methodType(int.class, int.class, byte[].class, int.class, int.class));
        }
        catch (final IllegalAccessException | NoSuchMethodException ex)
        {
            throw new IllegalStateException(
                "CRC32C needs the JVM flag --add-opens=java.base/java.util.zip=ALL-UNNAMED: " + ex.getMessage(), ex);
        }
    }

    private Crc32c()
    {
    }

    /** Fold {@code length} bytes of {@code buffer} from {@code index} into {@code state}. */
    static int update(final int state, final DirectBuffer buffer, final int index, final int length)
    {
        if (length == 0)
        {
            return state;
        }
        try
        {
            final byte[] array = buffer.byteArray();
            if (array != null)
            {
                final int start = buffer.wrapAdjustment() + index;
                return (int)UPDATE_ARRAY.invokeExact(state, array, start, start + length);
            }
            return (int)UPDATE_ADDRESS.invokeExact(state, buffer.addressOffset() + index, 0, length);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException("CRC32C update failed", ex);
        }
    }

    /**
     * The CRC32C of the first {@code count} ints of {@code values}, each as 4 little-endian bytes: what a GPU-path End
     * carries over its layers' checksums.
     */
    static int ofInts(final int[] values, final int count)
    {
        final byte[] bytes = new byte[4 * count];
        for (int i = 0; i < count; i++)
        {
            final int v = values[i];
            bytes[4 * i] = (byte)v;
            bytes[4 * i + 1] = (byte)(v >>> 8);
            bytes[4 * i + 2] = (byte)(v >>> 16);
            bytes[4 * i + 3] = (byte)(v >>> 24);
        }
        final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes, 0, bytes.length);
        return (int)crc.getValue();
    }

    static int finish(final int state)
    {
        return ~state;
    }
}
