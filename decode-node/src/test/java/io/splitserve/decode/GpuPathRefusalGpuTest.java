package io.splitserve.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.Backend;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.demo.DemoModel;
import io.splitserve.kernels.cuda.GpuTest;
import io.splitserve.kvtransfer.DeviceKvIntake;
import io.splitserve.kvtransfer.GpuKvExport;
import io.splitserve.sbe.KvTransferStatus;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A CUDA decode engine's page store refuses the GPU path with the status the sender needs: memory exported by a
 * process that has since died is FAILED_GPU_HANDLE (its CUDA IPC handle no longer opens), an export of another host is
 * FAILED_GPU_PEER_ACCESS, and a refusal is remembered for that arena; an export of a live process on this host opens.
 * (A handle this process already holds open stays open after its exporter dies: CUDA keeps the memory for the
 * mapping, so a dead exporter shows only to a process that had not mapped it.)
 * Each attach reserves nothing.
 */
@GpuTest
@Timeout(120)
class GpuPathRefusalGpuTest {
    @TempDir
    static Path models;

    @Test
    void deadExportersAndOtherHostsAreRefusedWithTheirCodes() throws Exception {
        final Path dir = DemoModel.ensure(models.resolve("demo"));
        try (Engine engine = Engine.load(dir, new EngineOptions().backend(Backend.CUDA).maxPages(64))) {
            engine.bindToCurrentThread();
            final EngineKvPageStore store = new EngineKvPageStore(engine, true);
            final DeviceKvIntake intake = store.deviceIntake();
            assertNotNull(intake, "a CUDA engine takes the GPU path");
            final int free = engine.freePages();

            // a handle this process never opened, of an exporter that died before the offer came
            final Process dying = exporter();
            final Map<String, String> gone = readLines(dying);
            final byte[] goneHandle = HexFormat.of().parseHex(gone.get("HANDLE"));
            dying.destroyForcibly();
            assertTrue(dying.waitFor(30, TimeUnit.SECONDS));
            final GpuKvExport dead = new GpuKvExport(gone.get("HOST"), gone.get("GPU"), dying.pid(), 12, goneHandle, 0,
                    4096);
            assertEquals(KvTransferStatus.FAILED_GPU_HANDLE, intake.attach(dead), "the handle of a dead process");
            assertEquals(KvTransferStatus.FAILED_GPU_HANDLE, intake.attach(dead), "remembered");

            final Process child = exporter();
            final Map<String, String> lines = readLines(child);
            final byte[] handle = HexFormat.of().parseHex(lines.get("HANDLE"));
            final GpuKvExport live = new GpuKvExport(lines.get("HOST"), lines.get("GPU"), child.pid(), 11, handle, 0,
                    4096);
            assertEquals(KvTransferStatus.OK, intake.attach(live), "a live exporter on this host opens");
            child.destroyForcibly();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));

            final GpuKvExport elsewhere = new GpuKvExport("boot:another-machine", lines.get("GPU"), 1, 13, handle, 0,
                    4096);
            assertEquals(KvTransferStatus.FAILED_GPU_PEER_ACCESS, intake.attach(elsewhere));
            assertEquals(free, engine.freePages(), "refusals reserve nothing");
        }
    }

    /** The kernels' IPC test exporter: a child JVM holding a device buffer and printing its CUDA IPC handle. */
    private static Process exporter() throws Exception {
        final List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("io.splitserve.kernels.cuda.IpcExportChild");
        command.add("5");
        command.add("65536");
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    private static Map<String, String> readLines(Process child) throws Exception {
        final Map<String, String> lines = new HashMap<>();
        final BufferedReader reader = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8));
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (lines.size() < 4 && System.nanoTime() < deadline) {
            final String line = reader.readLine();
            if (line == null) {
                break;
            }
            final int space = line.indexOf(' ');
            if (space > 0) {
                lines.put(line.substring(0, space), line.substring(space + 1).trim());
            }
        }
        assertTrue(lines.keySet().containsAll(List.of("HANDLE", "GPU", "HOST")), "exporter printed " + lines);
        return lines;
    }
}
