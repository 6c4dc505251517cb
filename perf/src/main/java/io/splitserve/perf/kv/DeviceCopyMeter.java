package io.splitserve.perf.kv;

import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.kernels.cuda.CudaStream;
import io.splitserve.kernels.cuda.DeviceBuffer;
import java.util.function.LongConsumer;

/**
 * The ceiling a device-to-device KV path is compared with: copies of a given size from one buffer to another on one
 * GPU (cuMemcpy between device addresses on a {@link CudaStream}), each timed on the host from its launch until the
 * stream finished it, as an importer waits for its copy. At opening a known pattern is copied and read back, so a rate
 * is never reported for a copy that does not arrive intact.
 *
 * <p>Owned by the thread that opens it (the GPU's primary context is current there); closing frees everything.
 */
final class DeviceCopyMeter implements AutoCloseable {
    private final CudaDevice device;
    private final DeviceBuffer from;
    private final DeviceBuffer to;
    private final CudaStream stream;
    private final LongConsumer copy = this::copy;

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
        final int[] pattern = CopyTiming.checkPattern(maxBytes);
        from.copyFrom(pattern);
        copy(4L * pattern.length);
        final int[] arrived = new int[pattern.length];
        to.copyTo(arrived);
        CopyTiming.requireIntact("device", pattern, arrived);
    }

    /** Median rate, in GB/s (10^9 bytes per second), of {@code reps} copies of {@code bytes}, after one unmeasured. */
    double medianGbps(long bytes, int reps) {
        return CopyTiming.medianGbps("device", from.bytes(), copy, bytes, reps);
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
