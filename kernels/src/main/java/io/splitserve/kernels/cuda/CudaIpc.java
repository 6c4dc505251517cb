package io.splitserve.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuCtxGetCurrent;
import static jcuda.driver.JCudaDriver.cuIpcGetMemHandle;
import static jcuda.driver.JCudaDriver.cuIpcOpenMemHandle;

import java.lang.reflect.Field;

import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUipcMemHandle;
import jcuda.driver.CUipcMem_flags;
import jcuda.driver.CUresult;

/**
 * CUDA IPC for device memory: one process exports a buffer as a 64-byte handle, another process on the same host
 * opens the handle and gets an address of the same memory in its own context, usable by copies and kernels. This is
 * how a decode node reads a prefill node's KV arena without a trip through the host.
 *
 * <p>Guarantees: every failure is a {@link CudaIpcException} naming the step and the CUresult, never a crash or a
 * null. CUDA refuses to open a handle in the process that exported it ({@value #SAME_PROCESS_RESULT}); the exception
 * then says so plainly, since inside one process the buffer's own address is the way. A handle stays valid only
 * while the exporter keeps its buffer allocated: once the exporter frees it or exits, opening fails.
 */
public final class CudaIpc {
    /** Bytes of a handle (CU_IPC_HANDLE_SIZE). */
    public static final int HANDLE_BYTES = 64;
    /** The CUresult CUDA gives for opening, in a process with a current context, a handle that process exported. */
    static final String SAME_PROCESS_RESULT = CUresult.stringFor(CUresult.CUDA_ERROR_INVALID_CONTEXT);

    /**
     * JCuda keeps the handle's bytes in the private field {@code reserved} of {@link CUipcMemHandle} and offers no
     * accessor, yet the bytes are what must travel to the other process; this field is read and written by
     * reflection, here only.
     */
    private static final Field HANDLE_BYTES_FIELD = handleField();

    private CudaIpc() {
    }

    /** The handle of {@code buffer}, a whole cuMemAlloc allocation, in the current context; valid while it lives. */
    public static byte[] exportHandle(DeviceBuffer buffer) {
        CUipcMemHandle handle = new CUipcMemHandle();
        String result = DriverCall.result(() -> cuIpcGetMemHandle(handle, buffer.pointer()));
        if (!DriverCall.SUCCESS.equals(result)) {
            throw new CudaIpcException("exporting an IPC handle of a " + buffer.bytes() + "-byte device buffer", result,
                    null);
        }
        byte[] bytes = bytesOf(handle).clone();
        if (bytes.length != HANDLE_BYTES) {
            throw new IllegalStateException("JCuda's IPC handle holds " + bytes.length + " bytes, not " + HANDLE_BYTES);
        }
        return bytes;
    }

    /**
     * Maps the memory behind {@code handle} (exported by another process of this host) into the current context,
     * with peer access enabled lazily when it lives on another GPU.
     */
    public static PeerMemory open(byte[] handle) {
        if (handle == null || handle.length != HANDLE_BYTES) {
            throw new IllegalArgumentException("an IPC handle has " + HANDLE_BYTES + " bytes, got "
                    + (handle == null ? "null" : handle.length + " bytes"));
        }
        CUipcMemHandle ipcHandle = new CUipcMemHandle();
        System.arraycopy(handle, 0, bytesOf(ipcHandle), 0, HANDLE_BYTES);
        CUdeviceptr mapped = new CUdeviceptr();
        String result = DriverCall.result(() -> cuIpcOpenMemHandle(mapped, ipcHandle,
                CUipcMem_flags.CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS));
        if (!DriverCall.SUCCESS.equals(result)) {
            throw new CudaIpcException("opening an IPC memory handle", result, openFailureReason(result));
        }
        return new PeerMemory(mapped);
    }

    private static String openFailureReason(String result) {
        if (SAME_PROCESS_RESULT.equals(result)) {
            return hasCurrentContext()
                    ? "the handle was exported by this same process, and CUDA refuses to open a handle in its exporter;"
                            + " inside one process use the buffer's address directly"
                    : "no CUDA context is current on this thread";
        }
        return "the handle is not open here: its exporting process may have freed the buffer or exited, or the bytes"
                + " are not a handle from a process of this host";
    }

    private static boolean hasCurrentContext() {
        CUcontext current = new CUcontext();
        return DriverCall.SUCCESS.equals(DriverCall.result(() -> cuCtxGetCurrent(current)))
                && RawAddress.of(current) != 0;
    }

    private static byte[] bytesOf(CUipcMemHandle handle) {
        try {
            return (byte[]) HANDLE_BYTES_FIELD.get(handle);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot read the bytes of a JCuda IPC handle", e);
        }
    }

    private static Field handleField() {
        try {
            Field f = CUipcMemHandle.class.getDeclaredField("reserved");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("this JCuda version has no field CUipcMemHandle.reserved", e);
        }
    }
}
