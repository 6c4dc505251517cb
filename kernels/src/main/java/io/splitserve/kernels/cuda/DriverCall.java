package io.splitserve.kernels.cuda;

import java.util.function.IntSupplier;

import jcuda.CudaException;
import jcuda.driver.CUresult;

/**
 * Runs one driver call whose failure the caller handles itself and gives back the CUresult name, whether JCuda's
 * exceptions are on (then JCuda throws a {@link CudaException} whose message is exactly {@link CUresult#stringFor})
 * or off (then the call returns the code). {@link CudaDevice} turns JCuda's exceptions on for the whole process, so
 * code that must tell one CUresult from another goes through here.
 */
final class DriverCall {
    static final String SUCCESS = CUresult.stringFor(CUresult.CUDA_SUCCESS);

    private DriverCall() {
    }

    /** The call's CUresult name: {@link #SUCCESS} when it succeeded. */
    static String result(IntSupplier call) {
        try {
            return CUresult.stringFor(call.getAsInt());
        } catch (CudaException e) {
            return e.getMessage();
        }
    }
}
