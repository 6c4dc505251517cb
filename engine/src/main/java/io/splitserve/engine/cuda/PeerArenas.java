package io.splitserve.engine.cuda;

import io.splitserve.engine.forward.PeerArena;
import io.splitserve.engine.forward.PeerAttachment;
import io.splitserve.engine.forward.PeerAttachment.Access;
import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.kernels.cuda.CudaIpc;
import io.splitserve.kernels.cuda.CudaIpcException;
import io.splitserve.kernels.cuda.HostIdentity;
import io.splitserve.kernels.cuda.PeerMemory;
import java.util.HashMap;
import java.util.Map;

/**
 * The other engines' export arenas this runner has mapped, by arena id, with the checks that come before a mapping:
 * the same host, and a GPU this one may reach (the same device, or peer access). In another process the arena is
 * opened through its CUDA IPC handle; in this process (where CUDA refuses to open its own handles) it is found by id
 * and reached through unified addressing, with peer access enabled when it lives on another GPU. A mapping lasts until
 * it is detached (its exporter's stream is gone) or the runner closes. Owned by the runner's thread.
 */
final class PeerArenas implements AutoCloseable {
    private final CudaDevice device;
    private final String hostId = HostIdentity.current();
    private final long processId = ProcessHandle.current().pid();
    private final Map<Long, Long> baseAddress = new HashMap<>();
    private final Map<Long, PeerMemory> opened = new HashMap<>();

    PeerArenas(CudaDevice device) {
        this.device = device;
    }

    PeerAttachment attach(PeerArena peer) {
        if (baseAddress.containsKey(peer.arenaId())) {
            return PeerAttachment.MAPPED;
        }
        if (!hostId.equals(peer.hostId())) {
            return new PeerAttachment(Access.UNREACHABLE, "the exporter is on another host (" + peer.hostId() + ")");
        }
        final int ordinal = CudaDevice.ordinalOfUuid(peer.deviceUuid());
        if (ordinal >= 0 && !device.canAccessPeer(ordinal)) {
            return new PeerAttachment(Access.UNREACHABLE, "GPU " + device.ordinal() + " has no peer access to GPU "
                    + ordinal + " (" + peer.deviceUuid() + ")");
        }
        if (peer.processId() == processId) {
            return attachInProcess(peer);
        }
        try {
            final PeerMemory memory = CudaIpc.open(peer.ipcHandle());
            opened.put(peer.arenaId(), memory);
            baseAddress.put(peer.arenaId(), memory.address());
            return PeerAttachment.MAPPED;
        } catch (CudaIpcException | IllegalArgumentException e) {
            return new PeerAttachment(Access.UNOPENABLE, "cannot open the exported memory of process "
                    + peer.processId() + ": " + e.getMessage());
        }
    }

    private PeerAttachment attachInProcess(PeerArena peer) {
        final KvExportArena arena = KvExportArena.inThisProcess(peer.arenaId());
        if (arena == null) {
            return new PeerAttachment(Access.UNOPENABLE, "no export arena " + peer.arenaId() + " in this process");
        }
        if (arena.device().ordinal() != device.ordinal()) {
            try {
                device.enablePeerAccess(arena.device());
            } catch (RuntimeException e) {
                return new PeerAttachment(Access.UNREACHABLE, "peer access from GPU " + device.ordinal() + " to GPU "
                        + arena.device().ordinal() + " was refused: " + e.getMessage());
            }
        }
        baseAddress.put(peer.arenaId(), arena.address(0));
        return PeerAttachment.MAPPED;
    }

    /** Forgets a mapped arena, closing its CUDA IPC mapping when it has one; the caller has drained every import. */
    void detach(long arenaId) {
        baseAddress.remove(arenaId);
        final PeerMemory memory = opened.remove(arenaId);
        if (memory != null) {
            memory.close();
        }
    }

    /** The device address of byte {@code offset} of a mapped arena. */
    long address(long arenaId, long offset) {
        final Long base = baseAddress.get(arenaId);
        if (base == null) {
            throw new IllegalStateException("export arena " + arenaId + " is not mapped into this runner");
        }
        return base + offset;
    }

    @Override
    public void close() {
        for (PeerMemory memory : opened.values()) {
            memory.close();
        }
        opened.clear();
        baseAddress.clear();
    }
}
