package io.splitserve.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;

/**
 * A non-blocking CUDA stream (it never synchronises with the legacy default stream, which also makes it
 * capturable into a graph). Its raw handle is what the cuBLAS bridge takes.
 */
public final class CudaStream implements AutoCloseable {
    private final CUstream stream = new CUstream();
    private final long handle;

    public CudaStream() {
        cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
        this.handle = RawAddress.of(stream);
    }

    public CUstream stream() {
        return stream;
    }

    /** Raw cudaStream_t value. */
    public long handle() {
        return handle;
    }

    public void synchronize() {
        cuStreamSynchronize(stream);
    }

    @Override
    public void close() {
        cuStreamDestroy(stream);
    }
}
