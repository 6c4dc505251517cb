package io.splitserve.perf.kv;

import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import java.util.Arrays;

/**
 * The ceiling a device-to-device KV path is compared with: copies of a given size from one buffer to another on one
 * GPU (cuMemcpy between device addresses on a {@link CudaStream}), each timed on the host from its launch until the
 * stream finished it, as an importer waits for its copy. At opening a known pattern is copied and read back, so a rate
 * is never reported for a copy that does not arrive intact.
 *
 * <p>Owned by the thread that opens it (the GPU's primary context is current there); closing frees everything.
 */
final class DeviceCopyMeter implements AutoCloseable {
    private static final int CHECK_INTS = 1 << 18;

    private final CudaDevice device;
    private final DeviceBuffer from;
    private final DeviceBuffer to;
    private final CudaStream stream;

    private DeviceCopyMeter(CudaDevice device, DeviceBuffer from, DeviceBuffer to, CudaStream stream) {
        this.device = device;
        this.from = from;
        this.to = to;
        this.stream = stream;
    }

    /**
     * Opens GPU {@code gpu}, allocates two buffers of {@code maxBytes} and checks that a copy arrives intact.
     *
     * @throws IllegalStateException when the check copy differs.
     */
    static DeviceCopyMeter open(int gpu, long maxBytes) {
        final CudaDevice device = CudaDevice.open(gpu);
        DeviceBuffer from = null;
        DeviceBuffer to = null;
        CudaStream stream = null;
        try {
            from = DeviceBuffer.allocate(maxBytes);
            to = DeviceBuffer.allocate(maxBytes);
            stream = new CudaStream();
            final DeviceCopyMeter meter = new DeviceCopyMeter(device, from, to, stream);
            meter.check(maxBytes);
            return meter;
        } catch (RuntimeException e) {
            if (stream != null) {
                stream.close();
            }
            if (to != null) {
                to.close();
            }
            if (from != null) {
                from.close();
            }
            device.close();
            throw e;
        }
    }

    private void check(long maxBytes) {
        final int[] pattern = new int[(int) Math.min(CHECK_INTS, maxBytes / Integer.BYTES)];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (int) (i * 2654435761L) ^ 0x5bd1e995;
        }
        from.copyFrom(pattern);
        copy(4L * pattern.length);
        final int[] arrived = new int[pattern.length];
        to.copyTo(arrived);
        if (!Arrays.equals(pattern, arrived)) {
            throw new IllegalStateException("a device copy of " + 4L * pattern.length + " bytes arrived altered");
        }
    }

    /** Median rate, in GB/s (10^9 bytes per second), of {@code reps} copies of {@code bytes}, after one unmeasured. */
    double medianGbps(long bytes, int reps) {
        if (bytes <= 0 || bytes > from.bytes() || reps <= 0) {
            throw new IllegalArgumentException("device copies of " + bytes + " bytes x " + reps
                    + " outside buffers of " + from.bytes() + " bytes");
        }
        copy(bytes);
        final long[] nanos = new long[reps];
        for (int i = 0; i < reps; i++) {
            final long start = System.nanoTime();
            copy(bytes);
            nanos[i] = System.nanoTime() - start;
        }
        Arrays.sort(nanos);
        final double median = reps % 2 == 1 ? nanos[reps / 2] : (nanos[reps / 2 - 1] + nanos[reps / 2]) / 2.0;
        return bytes / median;
    }

    private void copy(long bytes) {
        stream.copyDeviceToDevice(to.address(), from.address(), bytes);
        stream.synchronize();
    }

    @Override
    public void close() {
        device.makeCurrent();
        stream.close();
        to.close();
        from.close();
        device.close();
    }
}
