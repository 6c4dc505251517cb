package io.splitserve.perf.kv;

import static io.splitserve.perf.kv.KvBenchmarkRuns.demo;
import static io.splitserve.perf.kv.KvBenchmarkRuns.print;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.splitserve.kernels.cuda.CudaDevice;
import io.splitserve.model.ModelConfig;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The KV path benchmark on the CPU backend with the demo model and short prompts, its decode side a process of its
 * own: one CSV row per length and path whose figures are real measurements (the exact KV byte count, a ready time
 * after the first token though the two clocks are read in two processes, rate = bytes / transfer time), the decode
 * process's greedy tokens all equal to the prefill engine's own, the decode process's report lines read back as they
 * were written, a decode process that stops reported with its reason, and one-line errors for bad command lines.
 */
@Timeout(60)
class KvPathBenchmarkTest {
    private static final int[] LENGTHS = {16, 40};

    @TempDir
    Path tmp;

    @Test
    void hostPathWritesOneRowPerLengthWithEveryGreedyTokenEqual() throws Exception {
        final Path csv = tmp.resolve("out").resolve("kv-path.csv");
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int status = KvPathBenchmark.run(new String[] {demo().toString(), csv.toString(), "--backend", "cpu",
            "--paths", "host", "--lengths", "16,40", "--reps", "2"}, print(out), print(err));
        assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
        final ModelConfig config = ModelConfig.load(demo());
        final List<String> lines = Files.readAllLines(csv);
        assertEquals(KvPathBenchmark.CSV_HEADER, lines.get(0));
        assertEquals(1 + LENGTHS.length, lines.size(), String.join("\n", lines));
        for (int i = 0; i < LENGTHS.length; i++) {
            final String[] cells = lines.get(1 + i).split(",", -1);
            assertEquals(13, cells.length, lines.get(1 + i));
            assertEquals(LENGTHS[i], Integer.parseInt(cells[0]));
            assertEquals("host", cells[1]);
            final long f32KvBytes = 2L * config.numLayers() * LENGTHS[i] * config.kvDim() * Float.BYTES;
            assertEquals(f32KvBytes, Long.parseLong(cells[2]), "every layer's K and V in f32");
            final double firstToken = Double.parseDouble(cells[3]);
            final double ready = Double.parseDouble(cells[4]);
            final double exposed = Double.parseDouble(cells[5]);
            final double transfer = Double.parseDouble(cells[7]);
            assertTrue(firstToken > 0, lines.get(1 + i));
            assertTrue(exposed > 0, "the decode process admits after the first token: " + lines.get(1 + i));
            assertEquals(ready - firstToken, exposed, 0.0015, "exposed = ready - first token");
            assertEquals(100 * exposed / ready, Double.parseDouble(cells[6]), 0.06, "exposed % of ready");
            assertTrue(transfer > 0, lines.get(1 + i));
            assertEquals(f32KvBytes / (transfer * 1e6), Double.parseDouble(cells[8]),
                    0.002 * Double.parseDouble(cells[8]) + 0.001, "GB/s = bytes / transfer time");
            assertEquals("", cells[9], "no device copy on the CPU backend");
            assertEquals("", cells[10]);
            assertEquals("8", cells[12], "greedy steps checked");
            assertEquals("8", cells[11], "every greedy token of the decode process equals the prefill engine's");
        }
        final String printed = out.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("decode engine (its own process): cpu"), printed);
        assertTrue(printed.contains("| 40 | host | "), printed);
    }

    @Test
    void decodeReportsReadBackAsWritten() {
        final List<DecodeReport> reports = List.of(new DecodeReport.Ready("cuda (GPU 0: NVIDIA H200)"),
                new DecodeReport.Copy(1 << 20, 1234.5678), new DecodeReport.Admitted(7, 123456789012L,
                        new int[] {5, 6, 7}), new DecodeReport.Failed(8, "FAILED_GPU_HANDLE"),
                new DecodeReport.Stopped("IllegalStateException: no pages"));
        for (DecodeReport report : reports) {
            assertEquals(report, DecodeReport.parse(report.line()), report.line());
        }
        assertNull(DecodeReport.parse("[cuda] some log line"), "not a report");
        assertThrows(IllegalArgumentException.class, () -> DecodeReport.parse("kvpath admitted 7 x 1"));
        assertThrows(IllegalArgumentException.class, () -> DecodeReport.parse("kvpath copy 12"));
        assertThrows(IllegalArgumentException.class, () -> DecodeReport.parse("kvpath warp 1"));
    }

    @Test
    void aDecodeProcessThatStopsIsReportedWithItsReason() {
        try (DecodeProcess process = DecodeProcess.start(List.of(tmp.toString(), tmp.toString(), "cpu", "x", "8", "1"),
                print(new ByteArrayOutputStream()))) {
            final IllegalStateException stopped = assertThrows(IllegalStateException.class,
                    () -> process.await(TimeUnit.SECONDS.toNanos(50)));
            assertEquals("the decode process stopped: NumberFormatException: For input string: \"x\"",
                    stopped.getMessage());
        }
    }

    @Test
    void badCommandLinesGetOneLineErrors() throws Exception {
        final String model = demo().toString();
        final String csv = tmp.resolve("x.csv").toString();
        assertError(2, "bench kv-path: the GPU path needs --backend cuda; on the CPU measure --paths host", model, csv,
                "--backend", "cpu");
        assertError(2, "bench kv-path: --paths takes gpu and/or host, got 'disk'", model, csv, "--paths", "host,disk");
        assertError(2, "bench kv-path: --paths lists host twice: host,host", model, csv, "--backend", "cpu",
                "--paths", "host,host");
        assertError(2, "bench kv-path: MODEL_DIR and OUT.csv are required", model);
        assertError(2, "bench kv-path: --reps must be positive, got 0", model, csv, "--reps", "0");
        assertError(2, "bench kv-path: --backend must be cpu or cuda: a benchmark names what it measures", model, csv,
                "--backend", "auto");
        assertError(1, "bench kv-path: a prompt of 5000 tokens and 8 checked decode steps exceed the model's context"
                + " of 4096 tokens", model, csv, "--backend", "cpu", "--paths", "host", "--lengths", "128,5000");
        assertTrue(Files.notExists(Path.of(csv)), "no CSV after an error");
    }

    @Test
    void theGpuPathWithoutAGpuSaysWhy() throws Exception {
        final String reason = CudaDevice.unavailableReason();
        assumeTrue(reason != null, "a GPU is here: the CUDA backend would run");
        assertError(1, "bench kv-path: the CUDA backend cannot run here: " + reason, demo().toString(),
                tmp.resolve("g.csv").toString(), "--paths", "gpu");
    }

    private static void assertError(int status, String firstLine, String... args) {
        KvBenchmarkRuns.assertError(KvPathBenchmark::run, status, firstLine, args);
    }
}
