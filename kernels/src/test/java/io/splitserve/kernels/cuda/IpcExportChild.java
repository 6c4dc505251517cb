package io.splitserve.kernels.cuda;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Random;

/**
 * The exporting process of {@link CudaIpcGpuTest}: allocates a device buffer of {@code bytes}, fills it with
 * {@link #pattern}, prints {@code HANDLE <hex>}, {@code PATTERN <seed> <bytes>}, {@code GPU <uuid>} and
 * {@code HOST <identity>}, then keeps the buffer alive until a line (or end of input) arrives on stdin.
 * usage: IpcExportChild SEED BYTES
 */
final class IpcExportChild {
    private IpcExportChild() {
    }

    /** The bytes both processes expect: {@code bytes} draws of {@code new Random(seed)}. */
    static byte[] pattern(long seed, int bytes) {
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        return data;
    }

    public static void main(String[] args) throws Exception {
        long seed = Long.parseLong(args[0]);
        int bytes = Integer.parseInt(args[1]);
        try (CudaDevice device = CudaDevice.open(0); DeviceBuffer buffer = DeviceBuffer.allocate(bytes)) {
            buffer.copyFrom(pattern(seed, bytes));
            System.out.println("HANDLE " + HexFormat.of().formatHex(CudaIpc.exportHandle(buffer)));
            System.out.println("PATTERN " + seed + " " + bytes);
            System.out.println("GPU " + device.uuid());
            System.out.println("HOST " + HostIdentity.current());
            System.out.flush();
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        }
    }
}
