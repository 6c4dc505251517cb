package io.splitserve.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * A CUDA event without timing: orders work between streams ({@link #record} on one, {@link #makeWait} on another)
 * and lets the host wait for a point in a stream ({@link #synchronize}) without waiting for the whole stream.
 */
public final class CudaEvent implements AutoCloseable {
    /**
     * JCuda's public {@code cuEventQuery} throws for "not ready" while exceptions are enabled (a stack trace per poll,
     * and the switch is global to the process), so {@link #query} calls the native method behind it, which only returns
     * the result code.
     */
    private static final MethodHandle QUERY_NATIVE;

    static {
        try {
            QUERY_NATIVE = MethodHandles.privateLookupIn(JCudaDriver.class, MethodHandles.lookup())
                    .findStatic(JCudaDriver.class, "cuEventQueryNative", MethodType.methodType(int.class, CUevent.class));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this JCuda has no cuEventQueryNative: " + e.getMessage(), e);
        }
    }

    private final CUevent event = new CUevent();

    public CudaEvent() {
        cuEventCreate(event, CUevent_flags.CU_EVENT_DISABLE_TIMING);
    }

    /** Marks the current end of {@code stream}'s queued work. */
    public void record(CudaStream stream) {
        cuEventRecord(event, stream.stream());
    }

    /** Work queued on {@code stream} from now on starts only after the last recorded point is reached. */
    public void makeWait(CudaStream stream) {
        cuStreamWaitEvent(stream.stream(), event, 0);
    }

    /** Blocks the calling thread until the last recorded point is reached. */
    public void synchronize() {
        cuEventSynchronize(event);
    }

    /** True when the last recorded point is reached (or nothing was recorded); never blocks. */
    public boolean query() {
        final int result;
        try {
            result = (int) QUERY_NATIVE.invokeExact(event);
        } catch (Throwable e) {
            throw new IllegalStateException("cuEventQuery failed", e);
        }
        if (result == CUresult.CUDA_SUCCESS) {
            return true;
        }
        if (result == CUresult.CUDA_ERROR_NOT_READY) {
            return false;
        }
        throw new IllegalStateException("cuEventQuery failed: " + CUresult.stringFor(result));
    }

    @Override
    public void close() {
        cuEventDestroy(event);
    }
}
