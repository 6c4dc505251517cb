package io.splitserve.perf.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.kernels.cuda.GpuTest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The KV path benchmark on the CUDA backend, prefill and decode engines in two processes on GPU 0: for each length,
 * the GPU path (CUDA IPC from the prefill engine's export arena) and the host path each give a row whose decode
 * process decoded exactly the greedy tokens of the prefill engine alone (the same kernels over the same bf16 bytes),
 * whose sequence was ready after its first token, and beside which a device copy of the same bytes was timed.
 */
@GpuTest
@Timeout(300)
class KvPathBenchmarkGpuTest {
    private static final int[] LENGTHS = {64, 300};

    @TempDir
    Path tmp;

    @Test
    void bothPathsDecodeLikeThePrefillEngineAloneAndAreTimedBesideADeviceCopy() throws Exception {
        final Path demo = KvBenchmarkRuns.demo();
        final Path csv = tmp.resolve("kv-path.csv");
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int status = KvPathBenchmark.run(new String[] {demo.toString(), csv.toString(), "--lengths", "64,300",
            "--reps", "2"}, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
        final List<String> lines = Files.readAllLines(csv);
        assertEquals(KvPathBenchmark.CSV_HEADER, lines.get(0));
        assertEquals(1 + 2 * LENGTHS.length, lines.size(), String.join("\n", lines));
        for (int i = 0; i < LENGTHS.length; i++) {
            for (int p = 0; p < 2; p++) {
                final String line = lines.get(1 + 2 * i + p);
                final String[] cells = line.split(",", -1);
                assertEquals(LENGTHS[i], Integer.parseInt(cells[0]), line);
                assertEquals(p == 0 ? "gpu" : "host", cells[1], line);
                assertTrue(Double.parseDouble(cells[5]) > 0, "ready after the first token: " + line);
                assertTrue(Double.parseDouble(cells[7]) > 0, "transfer time: " + line);
                assertTrue(Double.parseDouble(cells[9]) > 0, "device copy rate: " + line);
                assertTrue(Double.parseDouble(cells[10]) > 0, "transfer as a share of the copy: " + line);
                assertEquals(cells[12], cells[11], "every greedy token equal: " + line);
            }
        }
    }
}
