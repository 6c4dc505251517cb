package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;

/** The CRC32C kernel equals {@link CRC32C} bit for bit, for any length, alignment, count and overlap of ranges. */
@GpuTest
class Crc32cKernelGpuTest {
    private static final int MIB = 1 << 20;

    @Test
    void eachLengthAtUnalignedOffsetsEqualsJavasCrc32c() throws Exception {
        long[] lengths = {0, 1, 3, 7, 63, 4095, 4096, 4097, MIB + 7, 4 * MIB - 1, 4 * MIB};
        Random rnd = new Random(11);
        byte[] data = new byte[9 * MIB];
        rnd.nextBytes(data);
        long[] offsets = new long[lengths.length];
        long[] lengthsInOrder = lengths.clone();
        for (int i = 0; i < lengths.length; i++) {
            offsets[i] = 1 + rnd.nextInt(4 * MIB - 2);  // odd, even, any residue mod 8
        }
        offsets[0] = 0;
        offsets[1] = 5;
        assertChecksums(data, offsets, lengthsInOrder);
        // each alone too: one range per launch takes the many-blocks-per-range split
        for (int i = 0; i < lengths.length; i++) {
            assertChecksums(data, new long[] {offsets[i]}, new long[] {lengths[i]});
        }
    }

    @Test
    void sixtyFourRangesInOneLaunchIncludingOverlapsEqualJavasCrc32c() throws Exception {
        Random rnd = new Random(12);
        byte[] data = new byte[3 * MIB + 13];
        rnd.nextBytes(data);
        long[] offsets = new long[64];
        long[] lengths = new long[64];
        for (int i = 0; i < 64; i++) {
            offsets[i] = rnd.nextInt(MIB);
            lengths[i] = i % 8 == 0 ? rnd.nextInt(64) : rnd.nextInt(2 * MIB);
        }
        offsets[1] = offsets[0];  // the same start: one range a prefix of the other
        offsets[2] = 100;
        lengths[2] = MIB;
        offsets[3] = 101;  // overlaps range 2 shifted by one byte
        lengths[3] = MIB;
        assertChecksums(data, offsets, lengths);
    }

    @Test
    void singleRangeTimingsAreReported() throws Exception {
        CudaDevice device = Gpu.device();
        CudaStream stream = Gpu.stream();
        byte[] data = new byte[64 * MIB];
        new Random(13).nextBytes(data);
        try (Gpu.Scope s = new Gpu.Scope(); Crc32cKernel kernel = new Crc32cKernel(device)) {
            DeviceBuffer bytes = s.add(DeviceBuffer.allocate(data.length));
            bytes.copyFrom(data);
            DeviceBuffer offsets = Gpu.longs(s, new long[] {0});
            DeviceBuffer out = s.add(DeviceBuffer.allocate(4));
            for (int length : new int[] {0, 4 * MIB, 64 * MIB}) {
                DeviceBuffer lengths = Gpu.longs(s, new long[] {length});
                int rounds = 200;
                for (int warm = 0; warm < 20; warm++) {
                    kernel.checksum(stream, bytes.address(), offsets.address(), lengths.address(), 1, out.address());
                }
                stream.synchronize();
                long start = System.nanoTime();
                for (int r = 0; r < rounds; r++) {
                    kernel.checksum(stream, bytes.address(), offsets.address(), lengths.address(), 1, out.address());
                }
                stream.synchronize();
                double micros = (System.nanoTime() - start) / 1e3 / rounds;
                CRC32C crc = new CRC32C();
                crc.update(data, 0, length);
                assertArrayEquals(new long[] {crc.getValue()}, read(out, 1));
                System.out.printf("crc32c of %d bytes on %s: %.1f us per checksum (both launches, %d back to back),"
                        + " %.0f GB/s%n", length, device.name(), micros, rounds, length / micros / 1e3);
            }
        }
    }

    private static void assertChecksums(byte[] data, long[] offsets, long[] lengths) throws Exception {
        long[] expected = new long[offsets.length];
        for (int i = 0; i < offsets.length; i++) {
            CRC32C crc = new CRC32C();
            crc.update(data, (int) offsets[i], (int) lengths[i]);
            expected[i] = crc.getValue();
        }
        try (Gpu.Scope s = new Gpu.Scope(); Crc32cKernel kernel = new Crc32cKernel(Gpu.device())) {
            DeviceBuffer bytes = s.add(DeviceBuffer.allocate(data.length));
            bytes.copyFrom(data);
            long[] actual = checksums(s, kernel, bytes.address(), offsets, lengths);
            assertArrayEquals(expected, actual, "offsets " + Arrays.toString(offsets) + " lengths "
                    + Arrays.toString(lengths));
        }
    }

    /** CRC32C of each range of device memory at {@code base}, computed by the kernel and read back as unsigned values. */
    static long[] checksums(Gpu.Scope s, Crc32cKernel kernel, long base, long[] offsets, long[] lengths) {
        DeviceBuffer offsetsD = Gpu.longs(s, offsets);
        DeviceBuffer lengthsD = Gpu.longs(s, lengths);
        DeviceBuffer out = Gpu.poisoned(s, 4L * offsets.length);
        kernel.checksum(Gpu.stream(), base, offsetsD.address(), lengthsD.address(), offsets.length, out.address());
        return read(out, offsets.length);
    }

    private static long[] read(DeviceBuffer out, int n) {
        int[] raw = Gpu.readInts(out, n);
        long[] values = new long[n];
        for (int i = 0; i < n; i++) {
            values[i] = Integer.toUnsignedLong(raw[i]);
        }
        return values;
    }
}
