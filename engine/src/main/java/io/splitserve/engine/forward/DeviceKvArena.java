package io.splitserve.engine.forward;

/**
 * Device memory a runner exports prefill KV from, so that a decode engine on the same host copies it GPU to GPU
 * instead of receiving it through the host. The memory is one allocation shared by CUDA IPC ({@link #ipcHandle}) and
 * found again in its own process by {@link #arenaId}; ranges of it are handed out per prefill batch and must stay
 * untouched until every decode peer has copied them ({@link #allocate}, {@link #free}).
 *
 * <p>Owned by the runner's thread, like the runner.
 */
public interface DeviceKvArena {

    /** How this arena's GPU relates to another GPU. */
    enum Reach {
        /** The same device, or peer access between the two is possible. */
        REACHABLE,
        /** Visible to this process, and peer access is not possible. */
        UNREACHABLE,
        /** Not visible to this process. */
        NOT_VISIBLE
    }

    /** The boot identity of this host (equal for every process on it). */
    String hostId();

    /** The UUID of the arena's GPU, 32 hex digits. */
    String deviceUuid();

    long processId();

    /** Random per arena: names it to importers, which map it once. */
    long arenaId();

    /** The CUDA IPC memory handle of the whole allocation; empty when this platform gives none. */
    byte[] ipcHandle();

    long capacity();

    long freeBytes();

    /** The offset of a free range of {@code bytes} bytes, or -1 when none is that large now. */
    long allocate(long bytes);

    /** Takes back the range at {@code offset}. */
    void free(long offset);

    /** How this arena's GPU relates to the GPU with UUID {@code deviceUuid}. */
    Reach reach(String deviceUuid);
}
