package io.splitserve.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;

/**
 * A CUDA event without timing: orders work between streams ({@link #record} on one, {@link #makeWait} on another)
 * and lets the host wait for a point in a stream ({@link #synchronize}) without waiting for the whole stream.
 */
public final class CudaEvent implements AutoCloseable {
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

    @Override
    public void close() {
        cuEventDestroy(event);
    }
}
