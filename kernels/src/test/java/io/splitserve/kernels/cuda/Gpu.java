package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Test fixture: one device and stream for the whole test JVM, plus helpers to draw random bf16 data, upload it,
 * poison outputs and compare results with the CPU reference by relative L2 error.
 */
final class Gpu {
    private static CudaDevice device;
    private static CudaStream stream;

    private Gpu() {
    }

    static synchronized CudaDevice device() {
        if (device == null) {
            device = CudaDevice.open(0);
            stream = new CudaStream();
        }
        device.makeCurrent();
        return device;
    }

    static CudaStream stream() {
        device();
        return stream;
    }

    /** Random floats in [-scale, scale), rounded to bf16 so the CPU reference sees exactly the GPU's inputs. */
    static float[] randomBf16(Random rnd, int n, float scale) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = Bf16.toFloat(Bf16.fromFloat((rnd.nextFloat() * 2 - 1) * scale));
        }
        return f;
    }

    /** A device buffer holding {@code values} as bf16; the caller closes it (see {@link Scope}). */
    static DeviceBuffer bf16(Scope scope, float[] values) {
        DeviceBuffer b = scope.add(DeviceBuffer.allocate(Math.max(2L, 2L * values.length)));
        b.copyFrom(Bf16.fromFloats(values));
        return b;
    }

    static DeviceBuffer floats(Scope scope, float[] values) {
        DeviceBuffer b = scope.add(DeviceBuffer.allocate(Math.max(4L, 4L * values.length)));
        b.copyFrom(values);
        return b;
    }

    static DeviceBuffer ints(Scope scope, int[] values) {
        DeviceBuffer b = scope.add(DeviceBuffer.allocate(Math.max(4L, 4L * values.length)));
        b.copyFrom(values);
        return b;
    }

    static DeviceBuffer longs(Scope scope, long[] values) {
        DeviceBuffer b = scope.add(DeviceBuffer.allocate(Math.max(8L, 8L * values.length)));
        b.copyFrom(values);
        return b;
    }

    /** An output buffer of {@code bytes}, poisoned with 0xFF bytes (NaN in bf16 and fp32, -1 as int). */
    static DeviceBuffer poisoned(Scope scope, long bytes) {
        DeviceBuffer b = scope.add(DeviceBuffer.allocate(bytes));
        b.fillBytes((byte) 0xff, stream());
        stream().synchronize();
        return b;
    }

    static float[] readBf16(DeviceBuffer b, int n) {
        stream().synchronize();
        short[] s = new short[n];
        b.copyTo(s);
        return Bf16.toFloats(s);
    }

    static float[] readFloats(DeviceBuffer b, int n) {
        stream().synchronize();
        float[] f = new float[n];
        b.copyTo(f);
        return f;
    }

    static int[] readInts(DeviceBuffer b, int n) {
        stream().synchronize();
        int[] v = new int[n];
        b.copyTo(v);
        return v;
    }

    /** Asserts every element was written (no poison left) and ||out - ref|| / ||ref|| <= tolerance. */
    static void assertClose(String what, float[] ref, float[] out, double tolerance) {
        double diff = 0, norm = 0;
        for (int i = 0; i < ref.length; i++) {
            assertFalse(Float.isNaN(out[i]), what + ": element " + i + " not written (or NaN)");
            double d = out[i] - ref[i];
            diff += d * d;
            norm += (double) ref[i] * ref[i];
        }
        double rel = Math.sqrt(diff / Math.max(norm, 1e-30));
        assertTrue(rel <= tolerance, what + ": relative L2 error " + rel + " > " + tolerance);
    }

    /** Closes the device buffers of one test in reverse order. */
    static final class Scope implements AutoCloseable {
        private final List<AutoCloseable> owned = new ArrayList<>();

        <T extends AutoCloseable> T add(T resource) {
            owned.add(resource);
            return resource;
        }

        @Override
        public void close() throws Exception {
            for (int i = owned.size() - 1; i >= 0; i--) {
                owned.get(i).close();
            }
        }
    }
}
