package io.splitserve.engine.forward;

/**
 * Another engine's {@link DeviceKvArena} as an importer names it: enough to check it can be reached and to map it
 * (its host, GPU and process, its id, its CUDA IPC handle).
 */
public record PeerArena(String hostId, String deviceUuid, long processId, long arenaId, byte[] ipcHandle) {
}
