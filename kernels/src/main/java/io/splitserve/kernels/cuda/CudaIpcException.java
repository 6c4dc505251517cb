package io.splitserve.kernels.cuda;

/**
 * A CUDA IPC step failed: the message names what was attempted and the driver's CUresult, plus the likely reason
 * where the CUresult alone would mislead. The one exception type of {@link CudaIpc}, so a caller can turn any IPC
 * failure into a clean fallback instead of a crash.
 */
public final class CudaIpcException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String result;

    CudaIpcException(String attempt, String result, String explanation) {
        super(attempt + " failed: " + result + (explanation == null ? "" : " (" + explanation + ")"));
        this.result = result;
    }

    /** The driver's CUresult name, e.g. {@code CUDA_ERROR_INVALID_VALUE}. */
    public String result() {
        return result;
    }
}
