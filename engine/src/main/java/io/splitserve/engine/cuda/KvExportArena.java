package io.splitserve.engine.cuda;

import io.splitserve.engine.forward.DeviceKvArena;
import io.splitserve.engine.kv.RangeAllocator;
import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.kernels.cuda.CudaIpc;
import io.splitserve.kernels.cuda.DeviceBuffer;
import io.splitserve.kernels.cuda.HostIdentity;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The device memory a CUDA runner exports prefill KV from: one allocation, so one CUDA IPC handle covers every
 * transfer it will ever hold, carved into ranges per prefill batch ({@link RangeAllocator}, 256-byte aligned). Arenas
 * of this process are registered by id so that an importer in the same process (where CUDA IPC cannot open its own
 * handles) finds the address directly; closing unregisters.
 */
final class KvExportArena implements DeviceKvArena, AutoCloseable {
    private static final long ALIGNMENT = 256;
    private static final SecureRandom IDS = new SecureRandom();
    private static final Map<Long, KvExportArena> IN_THIS_PROCESS = new ConcurrentHashMap<>();

    private final CudaDevice device;
    private final DeviceBuffer memory;
    private final RangeAllocator ranges;
    private final long arenaId = IDS.nextLong();
    private final byte[] ipcHandle;
    private final String hostId = HostIdentity.current();

    KvExportArena(CudaDevice device, long bytes) {
        this.device = device;
        this.memory = DeviceBuffer.allocate(bytes);
        this.ranges = new RangeAllocator(bytes, ALIGNMENT);
        this.ipcHandle = CudaIpc.exportHandle(memory);
        IN_THIS_PROCESS.put(arenaId, this);
    }

    /** The arena of this process with {@code arenaId}, or null. */
    static KvExportArena inThisProcess(long arenaId) {
        return IN_THIS_PROCESS.get(arenaId);
    }

    CudaDevice device() {
        return device;
    }

    /** The arena's memory (for tests that read or damage exported bytes). */
    DeviceBuffer memory() {
        return memory;
    }

    /** The device address of byte {@code offset} of the arena. */
    long address(long offset) {
        return memory.address(offset);
    }

    @Override
    public String hostId() {
        return hostId;
    }

    @Override
    public String deviceUuid() {
        return device.uuid();
    }

    @Override
    public long processId() {
        return ProcessHandle.current().pid();
    }

    @Override
    public long arenaId() {
        return arenaId;
    }

    @Override
    public byte[] ipcHandle() {
        return ipcHandle.clone();
    }

    @Override
    public long capacity() {
        return ranges.capacity();
    }

    @Override
    public long freeBytes() {
        return ranges.freeBytes();
    }

    @Override
    public long allocate(long bytes) {
        return ranges.allocate(bytes);
    }

    @Override
    public void free(long offset) {
        ranges.free(offset);
    }

    @Override
    public Reach reach(String deviceUuid) {
        final int ordinal = CudaDevice.ordinalOfUuid(deviceUuid);
        if (ordinal < 0) {
            return Reach.NOT_VISIBLE;
        }
        return device.canAccessPeer(ordinal) ? Reach.REACHABLE : Reach.UNREACHABLE;
    }

    @Override
    public void close() {
        IN_THIS_PROCESS.remove(arenaId);
        memory.close();
    }
}
