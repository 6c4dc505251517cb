package io.splitserve.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuIpcCloseMemHandle;

import jcuda.driver.CUdeviceptr;

/**
 * Device memory of another process, mapped into this process's current context by {@link CudaIpc#open}. Its
 * address serves copies and kernels like any device address until {@link #close}, which unmaps it exactly once
 * (the exporter's buffer itself stays the exporter's). Close it on a thread where the same context is current.
 */
public final class PeerMemory implements AutoCloseable {
    private final CUdeviceptr mapped;
    private final long address;
    private boolean closed;

    PeerMemory(CUdeviceptr mapped) {
        this.mapped = mapped;
        this.address = RawAddress.of(mapped);
    }

    /** The mapped memory's address in this process. */
    public long address() {
        if (closed) {
            throw new IllegalStateException("peer memory already closed");
        }
        return address;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        String result = DriverCall.result(() -> cuIpcCloseMemHandle(mapped));
        if (!DriverCall.SUCCESS.equals(result)) {
            throw new CudaIpcException("closing an IPC memory mapping", result, null);
        }
    }
}
