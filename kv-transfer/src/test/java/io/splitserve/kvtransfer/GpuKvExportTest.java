package io.splitserve.kvtransfer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** An export description survives its encoding exactly, and anything else is refused as malformed, never misread. */
class GpuKvExportTest
{
    private final byte[] handle = new byte[64];

    {
        for (int i = 0; i < handle.length; i++)
        {
            handle[i] = (byte)(i * 7 + 1);
        }
    }

    private final GpuKvExport export =
        new GpuKvExport("8f0c-boot", "00112233445566778899aabbccddeeff", 1234, -5, handle, 1L << 33, 4096);

    @Test
    void roundTrips()
    {
        final GpuKvExport back = GpuKvExport.decode(export.toBytes());
        assertEquals(export, back);
        assertArrayEquals(handle, back.handle());
        assertEquals((1L << 33) + 3 * 4096, back.partOffset(1, true));
        assertEquals("8f0c-boot", back.hostId());
        assertEquals(1234, back.processId());
    }

    @Test
    void malformedBytesAreRefused()
    {
        final byte[] bytes = export.toBytes();
        assertThrows(IllegalArgumentException.class, () -> GpuKvExport.decode(new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> GpuKvExport.decode(Arrays.copyOf(bytes, bytes.length - 1)));
        assertThrows(IllegalArgumentException.class, () -> GpuKvExport.decode(Arrays.copyOf(bytes, bytes.length + 1)));
        final byte[] wrongFormat = bytes.clone();
        wrongFormat[0] = 9;
        assertThrows(IllegalArgumentException.class, () -> GpuKvExport.decode(wrongFormat));
        final byte[] hugeField = bytes.clone();
        hugeField[33] = (byte)0xFF; // the handle's length
        hugeField[34] = (byte)0x7F;
        assertThrows(IllegalArgumentException.class, () -> GpuKvExport.decode(hugeField));
    }

    @Test
    void endpointsRoundTripAndUnknownBytesMeanNoGpu()
    {
        final KvEndpoint endpoint = new KvEndpoint("boot-1", "ffee");
        assertEquals(endpoint, KvEndpoint.fromBytes(endpoint.toBytes()));
        assertTrue(endpoint.onGpu());
        assertEquals(KvEndpoint.UNKNOWN, KvEndpoint.fromBytes(new byte[0]));
        assertEquals(KvEndpoint.UNKNOWN, KvEndpoint.fromBytes("no-space".getBytes()));
        assertEquals(KvEndpoint.UNKNOWN, KvEndpoint.fromBytes("a b c".getBytes()));
        assertEquals(0, new KvEndpoint("", "").toBytes().length);
    }
}
