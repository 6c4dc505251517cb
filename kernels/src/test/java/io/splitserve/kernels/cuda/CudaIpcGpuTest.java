package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;

/**
 * CUDA IPC between two processes: a child JVM ({@link IpcExportChild}) exports a filled buffer, this process maps
 * it, copies and checksums it in place; once the child is gone the handle no longer opens. Garbage and same-process
 * handles are refused with {@link CudaIpcException}. Every wait on the child is bounded, so a broken child fails
 * the test instead of hanging it.
 */
@GpuTest
class CudaIpcGpuTest {
    private static final long CHILD_TIMEOUT_S = 60;

    @Test
    void aBufferExportedByAnotherProcessIsCopiedAndChecksummedIntactThenGoneWithIt() throws Exception {
        long seed = 0x5EEDL;
        int bytes = 3 * (1 << 20) + 5;
        CudaDevice device = Gpu.device();
        CudaStream stream = Gpu.stream();
        Process child = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                System.getProperty("java.class.path"), IpcExportChild.class.getName(), Long.toString(seed),
                Integer.toString(bytes)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            Map<String, String> printed = readChildLines(child, "HANDLE", "PATTERN", "GPU", "HOST");
            assertEquals(seed + " " + bytes, printed.get("PATTERN"));
            assertEquals(HostIdentity.current(), printed.get("HOST"), "the child runs on this host");
            assertEquals(device.ordinal(), CudaDevice.ordinalOfUuid(printed.get("GPU")), "the child used this GPU");
            byte[] handle = HexFormat.of().parseHex(printed.get("HANDLE"));
            assertEquals(CudaIpc.HANDLE_BYTES, handle.length);
            byte[] expected = IpcExportChild.pattern(seed, bytes);
            CRC32C crc = new CRC32C();
            crc.update(expected);

            try (Gpu.Scope s = new Gpu.Scope(); Crc32cKernel kernel = new Crc32cKernel(device)) {
                DeviceBuffer copy = Gpu.poisoned(s, bytes);
                try (PeerMemory peer = CudaIpc.open(handle)) {
                    stream.copyDeviceToDevice(copy.address(), peer.address(), bytes);
                    long[] inPlace = Crc32cKernelGpuTest.checksums(s, kernel, peer.address(), new long[] {0, 1},
                            new long[] {bytes, bytes - 1});
                    CRC32C tail = new CRC32C();
                    tail.update(expected, 1, bytes - 1);
                    assertArrayEquals(new long[] {crc.getValue(), tail.getValue()}, inPlace);
                    stream.synchronize();
                }
                byte[] copied = new byte[bytes];
                copy.copyTo(copied);
                assertArrayEquals(expected, copied);
            }

            child.destroyForcibly();
            assertTrue(child.waitFor(CHILD_TIMEOUT_S, TimeUnit.SECONDS), "child did not exit after being killed");
            CudaIpcException gone = assertThrows(CudaIpcException.class, () -> CudaIpc.open(handle).close());
            System.out.println("reopening after the exporter died: " + gone.getMessage());
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    void garbageHandleBytesAreRefused() {
        Gpu.device();
        byte[] garbage = new byte[CudaIpc.HANDLE_BYTES];
        new Random(7).nextBytes(garbage);
        CudaIpcException e = assertThrows(CudaIpcException.class, () -> CudaIpc.open(garbage).close());
        assertTrue(e.getMessage().contains(e.result()), e.getMessage());
        System.out.println("garbage handle: " + e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CudaIpc.open(new byte[CudaIpc.HANDLE_BYTES - 1]));
    }

    @Test
    void aHandleOfThisSameProcessIsRefusedWithAPlainReason() throws Exception {
        Gpu.device();
        try (DeviceBuffer buffer = DeviceBuffer.allocate(4096)) {
            byte[] handle = CudaIpc.exportHandle(buffer);
            CudaIpcException e = assertThrows(CudaIpcException.class, () -> CudaIpc.open(handle).close());
            System.out.println("same-process handle: " + e.getMessage());
            assertEquals(CudaIpc.SAME_PROCESS_RESULT, e.result());
            assertTrue(e.getMessage().contains("exported by this same process"), e.getMessage());
        }
    }

    @Test
    void deviceIdentityAndPeerQueries() {
        CudaDevice device = Gpu.device();
        assertTrue(device.uuid().matches("[0-9a-f]{32}"), device.uuid());
        assertEquals(device.ordinal(), CudaDevice.ordinalOfUuid(device.uuid()));
        assertEquals(device.ordinal(), CudaDevice.ordinalOfUuid(device.uuid().toUpperCase()));
        assertEquals(-1, CudaDevice.ordinalOfUuid("0".repeat(32)));
        assertTrue(device.canAccessPeer(device.ordinal()));
        device.enablePeerAccess(device);  // the same GPU: nothing to enable, and no error
        assertThrows(IllegalArgumentException.class, () -> device.canAccessPeer(-1));
    }

    /** Reads the child's "KEY value" lines until every key was seen, each line waited for at most CHILD_TIMEOUT_S. */
    private static Map<String, String> readChildLines(Process child, String... keys) throws InterruptedException {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (java.io.IOException e) {
                lines.add("READ-FAILED " + e.getMessage());
            }
            lines.add("EOF");
        }, "ipc-child-stdout");
        reader.setDaemon(true);
        reader.start();
        Map<String, String> values = new HashMap<>();
        while (values.size() < keys.length) {
            String line = lines.poll(CHILD_TIMEOUT_S, TimeUnit.SECONDS);
            assertNotNull(line, "the child printed nothing for " + CHILD_TIMEOUT_S + " s; so far " + values);
            assertTrue(!line.equals("EOF"), "the child exited early (exit " + (child.isAlive() ? "?" : child.exitValue())
                    + "); so far " + values);
            int space = line.indexOf(' ');
            if (space > 0) {
                values.put(line.substring(0, space), line.substring(space + 1));
            }
        }
        for (String key : keys) {
            assertNotNull(values.get(key), "child line " + key);
        }
        return values;
    }
}
