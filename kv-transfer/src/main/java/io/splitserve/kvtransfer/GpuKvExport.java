package io.splitserve.kvtransfer;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Where one GPU-path transfer's KV lies in the sender's exported device memory, as carried in
 * {@code KvTransferBegin.gpuExport}: the exporting arena (host, GPU, process, the arena's id and its CUDA IPC handle)
 * and, inside it, the transfer's layout. Layer {@code l}'s K starts at byte {@code offset + 2 * l * partStride} of the
 * arena and its V at {@code offset + (2 * l + 1) * partStride}; each is {@code tokens * rowBytes} bytes in the wire
 * layout {@code [tokens][kvHeads][headDim]}. The receiver maps an arena once (by {@link #arenaId}) and copies each
 * layer out after its KvLayerReady.
 *
 * <p>{@link #decode} refuses bytes that are not a whole, well-formed export with {@link IllegalArgumentException}, so
 * a damaged Begin is answered with an explicit status rather than a bad mapping.
 */
public final class GpuKvExport
{
    private static final byte FORMAT = 1;
    private static final int MAX_TEXT = 256;
    private static final int MAX_HANDLE = 256;

    private final String hostId;
    private final String deviceUuid;
    private final long processId;
    private final long arenaId;
    private final byte[] handle;
    private final long offset;
    private final long partStride;

    public GpuKvExport(
        final String hostId,
        final String deviceUuid,
        final long processId,
        final long arenaId,
        final byte[] handle,
        final long offset,
        final long partStride)
    {
        if (hostId.length() > MAX_TEXT || deviceUuid.length() > MAX_TEXT || handle.length > MAX_HANDLE)
        {
            throw new IllegalArgumentException("GPU export description too long");
        }
        if (offset < 0 || partStride <= 0)
        {
            throw new IllegalArgumentException("GPU export at offset " + offset + " with part stride " + partStride);
        }
        this.hostId = hostId;
        this.deviceUuid = deviceUuid;
        this.processId = processId;
        this.arenaId = arenaId;
        this.handle = handle.clone();
        this.offset = offset;
        this.partStride = partStride;
    }

    /** The boot identity of the sender's host ({@code /proc/sys/kernel/random/boot_id} on Linux). */
    public String hostId()
    {
        return hostId;
    }

    /** The exporting GPU's UUID (32 hex digits). */
    public String deviceUuid()
    {
        return deviceUuid;
    }

    public long processId()
    {
        return processId;
    }

    /** Names the exported allocation: equal ids mean one mapping serves both exports. */
    public long arenaId()
    {
        return arenaId;
    }

    /** The CUDA IPC memory handle of the arena (opaque bytes). */
    public byte[] handle()
    {
        return handle.clone();
    }

    public long offset()
    {
        return offset;
    }

    public long partStride()
    {
        return partStride;
    }

    /** Arena offset of layer {@code layer}'s K ({@code value} false) or V. */
    public long partOffset(final int layer, final boolean value)
    {
        return offset + (2L * layer + (value ? 1 : 0)) * partStride;
    }

    /** Encoded length in bytes. */
    public int encodedLength()
    {
        return 1 + 8 * 4 + 2 + handle.length + 2 + utf8(hostId).length + 2 + utf8(deviceUuid).length;
    }

    /** Writes the export at {@code index}; returns the bytes written. */
    public int encode(final MutableDirectBuffer buffer, final int index)
    {
        int at = index;
        buffer.putByte(at, FORMAT);
        at += 1;
        buffer.putLong(at, processId, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(at + 8, arenaId, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(at + 16, offset, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(at + 24, partStride, ByteOrder.LITTLE_ENDIAN);
        at += 32;
        at = putBytes(buffer, at, handle);
        at = putBytes(buffer, at, utf8(hostId));
        at = putBytes(buffer, at, utf8(deviceUuid));
        return at - index;
    }

    /** The encoded bytes, for messages that carry them as var data. */
    public byte[] toBytes()
    {
        final byte[] bytes = new byte[encodedLength()];
        encode(new UnsafeBuffer(bytes), 0);
        return bytes;
    }

    /**
     * Reads an export of {@code length} bytes at {@code index}.
     *
     * @throws IllegalArgumentException when the bytes are not one well-formed export.
     */
    public static GpuKvExport decode(final DirectBuffer buffer, final int index, final int length)
    {
        final int end = index + length;
        if (length < 1 + 32 + 6 || buffer.getByte(index) != FORMAT)
        {
            throw new IllegalArgumentException("not a GPU KV export description (" + length + " bytes)");
        }
        int at = index + 1;
        final long processId = buffer.getLong(at, ByteOrder.LITTLE_ENDIAN);
        final long arenaId = buffer.getLong(at + 8, ByteOrder.LITTLE_ENDIAN);
        final long offset = buffer.getLong(at + 16, ByteOrder.LITTLE_ENDIAN);
        final long partStride = buffer.getLong(at + 24, ByteOrder.LITTLE_ENDIAN);
        at += 32;
        final byte[] handle = getBytes(buffer, at, end, MAX_HANDLE);
        at += 2 + handle.length;
        final byte[] host = getBytes(buffer, at, end, MAX_TEXT);
        at += 2 + host.length;
        final byte[] uuid = getBytes(buffer, at, end, MAX_TEXT);
        at += 2 + uuid.length;
        if (at != end)
        {
            throw new IllegalArgumentException("GPU KV export description has " + (end - at) + " trailing bytes");
        }
        return new GpuKvExport(new String(host, StandardCharsets.UTF_8), new String(uuid, StandardCharsets.UTF_8),
            processId, arenaId, handle, offset, partStride);
    }

    /** As {@link #decode(DirectBuffer, int, int)} over a whole array. */
    public static GpuKvExport decode(final byte[] bytes)
    {
        return decode(new UnsafeBuffer(bytes), 0, bytes.length);
    }

    private static byte[] utf8(final String text)
    {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static int putBytes(final MutableDirectBuffer buffer, final int at, final byte[] bytes)
    {
        buffer.putShort(at, (short)bytes.length, ByteOrder.LITTLE_ENDIAN);
        buffer.putBytes(at + 2, bytes);
        return at + 2 + bytes.length;
    }

    private static byte[] getBytes(final DirectBuffer buffer, final int at, final int end, final int max)
    {
        if (at + 2 > end)
        {
            throw new IllegalArgumentException("GPU KV export description is cut short");
        }
        final int length = buffer.getShort(at, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
        if (length > max || at + 2 + length > end)
        {
            throw new IllegalArgumentException("GPU KV export description has a field of " + length + " bytes");
        }
        final byte[] bytes = new byte[length];
        buffer.getBytes(at + 2, bytes);
        return bytes;
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof GpuKvExport other && other.processId == processId && other.arenaId == arenaId &&
            other.offset == offset && other.partStride == partStride && Arrays.equals(other.handle, handle) &&
            other.hostId.equals(hostId) && other.deviceUuid.equals(deviceUuid);
    }

    @Override
    public int hashCode()
    {
        return Long.hashCode(arenaId) * 31 + Long.hashCode(offset);
    }

    @Override
    public String toString()
    {
        return "GpuKvExport{host=" + hostId + ", gpu=" + deviceUuid + ", pid=" + processId + ", arena=" + arenaId +
            ", offset=" + offset + ", partStride=" + partStride + '}';
    }
}
