package io.splitserve.kernels.cuda;

/**
 * Launches {@code crc32c.cu}: the CRC32C of {@code count} byte ranges of device memory in one call, each value equal
 * to {@link java.util.zip.CRC32C} of the same bytes. It exists so both ends of a device-to-device KV move can
 * checksum what they hold without a copy to the host.
 *
 * <p>Ranges are {@code [base + offsets[i], base + offsets[i] + lengths[i])}, with {@code offsets} and {@code lengths}
 * int64 arrays in device memory (so they may change between graph replays); any length (0 too) and any byte
 * alignment. Each range is split over several blocks (more when there are few ranges, so a single large range
 * still spreads over the GPU); the per-block values go through a scratch buffer this launcher owns and a second,
 * tiny kernel combines them. The scratch makes one instance unsafe for two streams at once: give each stream its own
 * launcher (like every launcher, it belongs to one GPU thread).
 */
public final class Crc32cKernel implements AutoCloseable {
    /** Most ranges in one call: one grid row of {@code crc32c_partial} per range. */
    public static final int MAX_RANGES = 65_535;
    /** Threads of a {@code crc32c_partial} block (the kernel's shared tables are sized for it). */
    static final int PARTIAL_THREADS = 256;
    /** Most blocks per range: {@code crc32c_combine} folds one range's block values in one block of this many threads. */
    static final int MAX_BLOCKS_PER_RANGE = 256;

    private final CudaKernel partial;
    private final CudaKernel combine;
    private final int blockTarget;
    private final DeviceBuffer partials;

    public Crc32cKernel(CudaDevice device) {
        partial = new CudaKernel(device, KernelSpec.CRC32C_PARTIAL);
        combine = new CudaKernel(device, KernelSpec.CRC32C_COMBINE);
        // four blocks per multiprocessor is enough to keep the loads in flight; more only adds combine work
        blockTarget = 4 * device.multiprocessorCount();
        partials = DeviceBuffer.allocate(4L * Math.max(MAX_RANGES, blockTarget));
    }

    /**
     * Queues on {@code stream}: {@code out[i]} (uint32) = CRC32C of range {@code i}, for {@code i < count}. Does
     * nothing when {@code count} is 0. The addresses are raw device addresses (mapped peer or IPC memory too).
     */
    public void checksum(CudaStream stream, long baseAddress, long offsetsAddress, long lengthsAddress, int count,
                         long outAddress) {
        if (count < 0 || count > MAX_RANGES) {
            throw new IllegalArgumentException("range count must be in [0, " + MAX_RANGES + "], got " + count);
        }
        if (count == 0) {
            return;
        }
        int blocks = blocksPerRange(count, blockTarget);
        partial.args.address(0, baseAddress).address(1, offsetsAddress).address(2, lengthsAddress)
                .address(3, partials.address());
        partial.launch(blocks, count, 1, PARTIAL_THREADS, 0, stream);
        combine.args.address(0, lengthsAddress).address(1, partials.address()).address(2, outAddress);
        combine.launch(count, 1, 1, blocks, 0, stream);
    }

    /**
     * Blocks per range: the largest power of two (the kernels' trees need one) that keeps {@code count} ranges
     * within {@code blockTarget} blocks, at least 1 and at most {@link #MAX_BLOCKS_PER_RANGE}.
     */
    static int blocksPerRange(int count, int blockTarget) {
        Shapes.positive("range count", count);
        int share = Math.max(1, Math.min(MAX_BLOCKS_PER_RANGE, blockTarget / count));
        return Integer.highestOneBit(share);
    }

    @Override
    public void close() {
        partials.close();
    }
}
