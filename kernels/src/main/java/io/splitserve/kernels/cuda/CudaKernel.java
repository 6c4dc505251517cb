package io.splitserve.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor;

import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;

/**
 * One kernel of the fatbin with its reusable parameter block; the typed launchers wrap these. Launching
 * never blocks the host, so launches can be captured into a graph.
 */
final class CudaKernel {
    private final String name;
    private final CUfunction function;
    final KernelArgs args;

    CudaKernel(CudaDevice device, KernelSpec spec) {
        this.name = spec.function;
        this.function = device.function(spec.function);
        this.args = new KernelArgs(spec.signature);
    }

    /** Lets launches ask for up to {@code bytes} of dynamic shared memory (above the default 48 KiB). */
    void allowDynamicSharedMemory(int bytes) {
        cuFuncSetAttribute(function, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
    }

    /** How many blocks of this kernel fit on one multiprocessor at once (registers, shared memory, threads). */
    int residentBlocksPerMultiprocessor(int blockThreads, int dynamicSharedBytes) {
        int[] blocks = {0};
        cuOccupancyMaxActiveBlocksPerMultiprocessor(blocks, function, blockThreads, dynamicSharedBytes);
        return Math.max(1, blocks[0]);
    }

    void launch(int gridX, int gridY, int gridZ, int blockX, int sharedBytes, CudaStream stream) {
        if (gridX <= 0 || gridY <= 0 || gridZ <= 0) {
            throw new IllegalArgumentException(name + ": empty grid " + gridX + "x" + gridY + "x" + gridZ);
        }
        cuLaunchKernel(function, gridX, gridY, gridZ, blockX, 1, 1, sharedBytes, stream.stream(),
                args.parameters(), null);
    }
}
