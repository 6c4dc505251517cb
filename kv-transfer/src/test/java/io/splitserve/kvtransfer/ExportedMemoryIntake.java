package io.splitserve.kvtransfer;

import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferStatus;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The GPU path's receiving end with host memory standing in for device memory, so the protocol runs on any machine:
 * "exported arenas" are buffers registered by id, attaching checks the host and that the arena exists (as opening a
 * CUDA IPC handle of a live process would), each copy moves the layer's bytes into a {@link HostKvPageStore}
 * reservation and records the CRC32C of what it copied there, as the GPU's checksum kernel does.
 */
final class ExportedMemoryIntake implements DeviceKvIntake
{
    final Map<Long, UnsafeBuffer> arenas = new ConcurrentHashMap<>();
    /** Arenas detached, in order (the receiver's thread adds, the test reads). */
    final java.util.List<Long> detached = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Map<KvReservation, int[]> landed = new ConcurrentHashMap<>();
    private final HostKvPageStore store;
    private final String hostId;

    ExportedMemoryIntake(final HostKvPageStore store, final String hostId)
    {
        this.store = store;
        this.hostId = hostId;
    }

    /** The token ids each reservation was made with, by its token count (the receiver's thread adds). */
    final Map<Integer, int[]> tokenIds = new ConcurrentHashMap<>();

    @Override
    public KvReservation reserve(final int tokens)
    {
        return store.reserve(tokens);
    }

    @Override
    public KvReservation reserve(final int tokens, final int[] ids)
    {
        if (ids != null)
        {
            tokenIds.put(tokens, ids);
        }
        return store.reserve(tokens);
    }

    @Override
    public KvTransferStatus attach(final GpuKvExport export)
    {
        if (!export.hostId().equals(hostId))
        {
            return KvTransferStatus.FAILED_GPU_PEER_ACCESS;
        }
        return arenas.containsKey(export.arenaId()) ? KvTransferStatus.OK : KvTransferStatus.FAILED_GPU_HANDLE;
    }

    @Override
    public void copyLayer(final KvReservation reservation, final GpuKvExport export, final int layer)
    {
        final UnsafeBuffer arena = arenas.get(export.arenaId());
        final int partBytes = Math.toIntExact(store.geometry().partBytes(reservation.tokens()));
        final int[] crcs = landed.computeIfAbsent(reservation, r -> new int[2 * store.geometry().layers()]);
        final UnsafeBuffer scratch = new UnsafeBuffer(ByteBuffer.allocateDirect(partBytes));
        for (final KvPart part : new KvPart[] {KvPart.K, KvPart.V})
        {
            final int from = Math.toIntExact(export.partOffset(layer, part == KvPart.V));
            store.write(reservation, layer, part, 0, arena, from, partBytes);
            store.read(reservation, layer, part, 0, scratch, 0, partBytes);
            final CRC32C crc = new CRC32C();
            crc.update(scratch.byteBuffer().slice(0, partBytes));
            crcs[2 * layer + part.value()] = (int)crc.getValue();
        }
    }

    @Override
    public void landedChecksums(final KvReservation reservation, final int[] crcs)
    {
        final int[] known = landed.remove(reservation);
        if (known != null)
        {
            System.arraycopy(known, 0, crcs, 0, known.length);
        }
    }

    @Override
    public void detach(final long arenaId)
    {
        detached.add(arenaId);
    }

    /** A store whose GPU path is this intake. */
    KvPageStore withIntake()
    {
        final ExportedMemoryIntake intake = this;
        return new KvPageStore()
        {
            public KvGeometry geometry()
            {
                return store.geometry();
            }

            public KvReservation reserve(final int tokens)
            {
                return store.reserve(tokens);
            }

            public KvReservation reserve(final int tokens, final int[] ids)
            {
                if (ids != null)
                {
                    intake.tokenIds.put(-tokens, ids); // host path: by minus the token count
                }
                return store.reserve(tokens);
            }

            public void write(final KvReservation r, final int layer, final KvPart part, final long byteOffset,
                final org.agrona.DirectBuffer src, final int srcIndex, final int length)
            {
                store.write(r, layer, part, byteOffset, src, srcIndex, length);
            }

            public void release(final KvReservation r)
            {
                landed.remove(r);
                store.release(r);
            }

            public DeviceKvIntake deviceIntake()
            {
                return intake;
            }
        };
    }
}
