package io.splitserve.kvtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.zip.CRC32C;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/** The piecewise CRC32C equals the JDK's one-shot CRC32C, over direct and heap memory and any split. */
class Crc32cTest
{
    @Test
    void piecewiseOverMixedMemoryMatchesJdk()
    {
        final byte[] bytes = new byte[100_003];
        new Random(5).nextBytes(bytes);
        final CRC32C reference = new CRC32C();
        reference.update(bytes);

        final ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length + 11);
        direct.position(11);
        direct.put(bytes);
        final UnsafeBuffer directBuffer = new UnsafeBuffer(direct, 11, bytes.length);
        final UnsafeBuffer heapBuffer = new UnsafeBuffer(new byte[bytes.length + 5], 5, bytes.length);
        heapBuffer.putBytes(0, bytes);

        final Random splits = new Random(9);
        int state = Crc32c.INITIAL;
        int index = 0;
        boolean useDirect = true;
        while (index < bytes.length)
        {
            final int length = Math.min(bytes.length - index, splits.nextInt(3000));
            state = Crc32c.update(state, useDirect ? directBuffer : heapBuffer, index, length);
            index += length;
            useDirect = !useDirect;
        }
        assertEquals((int)reference.getValue(), Crc32c.finish(state));
    }

    @Test
    void emptyInputIsTheChecksumOfNothing()
    {
        assertEquals((int)new CRC32C().getValue(), Crc32c.finish(Crc32c.INITIAL));
    }
}
