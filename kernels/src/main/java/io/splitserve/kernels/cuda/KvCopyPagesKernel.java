package io.splitserve.kernels.cuda;

/**
 * Launches {@code kv_copy_pages.cu}, the copy on write of cached KV: each copy {@code (source page, destination page,
 * rows)} of the device int array {@code copies} copies the source page's leading rows into the destination page, K
 * and V of every layer, all in one launch ordered on the stream. {@code layerPools} is a device array of
 * {@code layerParts} pool addresses (K and V of each layer, each {@code [pages][pageSize][kvWidth]} bf16). The CPU
 * reference is {@code CpuOps.copyPageRows}; destinations must be distinct and none a source.
 */
public final class KvCopyPagesKernel {
    private static final int THREADS = 128;
    private final CudaKernel kernel;

    public KvCopyPagesKernel(CudaDevice device) {
        kernel = new CudaKernel(device, KernelSpec.KV_COPY_PAGES);
    }

    public void copy(CudaStream stream, long layerPools, int layerParts, long copies, int count, int pageSize,
                     int kvWidth) {
        Shapes.positive("page copies", count);
        Shapes.positive("layer parts", layerParts);
        Shapes.positive("page size", pageSize);
        Shapes.multipleOf8("kv width", kvWidth);
        kernel.args.address(0, layerPools).address(1, copies).int32(2, pageSize).int32(3, kvWidth);
        kernel.launch(count, layerParts, 1, THREADS, 0, stream);
    }
}
