package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.kernels.cuda.CudaDevice;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code splitserve serve} from the command line: the README's demo request, and usage errors in one line. */
@Timeout(60)
class ServeCommandTest {
    record Run(int status, String out, String err) { }

    private static Run run(String... args) {
        final PrintStream savedOut = System.out;
        final PrintStream savedErr = System.err;
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            final int status = Main.execute(args);
            return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
    }

    @Test
    void demoRequestPrintsThePromptAndItsGreedyContinuation() throws Exception {
        final Path demo = TestSystems.demoModel();
        final Run run = run("serve", "--model", demo.toString(), "--demo-request", "Once upon a time", "--max-tokens",
                "12", "--aeron-dir", TestSystems.aeronDir("serve-command"));
        assertEquals(0, run.status(), run.err());
        assertEquals("Once upon a time" + Reference.generate(demo, "Once upon a time", 12).text() + System.lineSeparator(),
                run.out());
        assertTrue(run.err().contains("12 tokens, finish reason length"), run.err());
    }

    @Test
    void usageErrorsAreOneLine() {
        final Run backend = run("serve", "--backend", "tpu", "--demo-request", "hi");
        assertEquals(1, backend.status());
        assertEquals("error: unknown backend 'tpu': expected cpu, cuda or auto", backend.err().strip());
        if (CudaDevice.unavailableReason() != null) {
            final Run cuda = run("serve", "--backend", "cuda", "--demo-request", "hi");
            assertEquals(1, cuda.status());
            assertEquals("error: --backend cuda cannot run here: " + CudaDevice.unavailableReason(),
                    cuda.err().strip());
        }
        final Run gpu = run("serve", "--decode-gpu", "-1", "--demo-request", "hi");
        assertEquals(1, gpu.status());
        assertEquals("error: --prefill-gpu and --decode-gpu must be 0 or more", gpu.err().strip());
        final Run gpuList = run("serve", "--decode-gpu", "0,-2", "--demo-request", "hi");
        assertEquals(1, gpuList.status());
        assertEquals("error: --prefill-gpu and --decode-gpu must be 0 or more", gpuList.err().strip());
        final Run kvImport = run("serve", "--kv-import", "lazily", "--demo-request", "hi");
        assertEquals(1, kvImport.status());
        assertEquals("error: --kv-import must be layers or whole, got 'lazily'", kvImport.err().strip());
        final Run kvPath = run("serve", "--kv-path", "nvlink", "--demo-request", "hi");
        assertEquals(1, kvPath.status());
        assertEquals("error: --kv-path must be auto, gpu or host, not 'nvlink'", kvPath.err().strip());
        final Run gpuPathOnCpu = run("serve", "--kv-path", "gpu", "--backend", "cpu", "--demo-request", "hi");
        assertEquals(1, gpuPathOnCpu.status());
        assertEquals("error: --kv-path gpu needs KV on a GPU (the CUDA backend); this node has none",
                gpuPathOnCpu.err().strip());
        final Run nodes = run("serve", "--decode-nodes", "0", "--demo-request", "hi");
        assertEquals(1, nodes.status());
        assertTrue(nodes.err().strip().startsWith("error: --prefill-nodes, --decode-nodes"), nodes.err());
        final Run unknown = run("serve", "--decode-nodez=2");
        assertEquals(2, unknown.status(), "a mistyped option is a usage error");
        assertTrue(unknown.err().contains("Unknown option: '--decode-nodez=2'"), unknown.err());
    }
}
