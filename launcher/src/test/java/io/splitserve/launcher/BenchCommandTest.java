package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.splitserve.kernels.cuda.CudaDevice;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code splitserve bench}: its help lists every kind, each kind gets its arguments (a short real run of the CPU
 * kinds: router, engine, kv-stream), and each bad command line gets one line and its exit status: 2 for a malformed
 * one, 1 for one that cannot run here.
 */
@Timeout(120)
class BenchCommandTest {
    private static final List<String> KINDS = List.of("load", "router", "kernels", "runner", "runner-check",
            "runner-profile", "runner-long", "engine", "kv-stream", "kv-path", "kv-transfer");

    /** Exit status and what the command printed, standard streams included (some benchmarks print there). */
    private record Outcome(int status, String out, String err) {
        String firstErrorLine() {
            return err.lines().findFirst().orElse("");
        }
    }

    private static Outcome execute(String... args) {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final PrintStream savedOut = System.out;
        final PrintStream savedErr = System.err;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            final int status = Main.execute(args);
            return new Outcome(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
    }

    @Test
    void helpListsEveryKind() {
        final StringWriter out = new StringWriter();
        final CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("bench", "--help"));
        final String help = out.toString();
        assertTrue(help.contains("Kinds:"), help);
        for (String kind : KINDS) {
            assertTrue(help.lines().anyMatch(line -> line.strip().startsWith(kind + " ")), kind + " in\n" + help);
        }
        assertEquals(KINDS, List.copyOf(cli.getSubcommands().get("bench").getSubcommands().keySet()));
    }

    @Test
    void malformedCommandLinesExitWithTwoAndSayWhatIsWrong(@TempDir Path tmp) throws Exception {
        final String model = TestSystems.demoModel().toString();
        final String csv = tmp.resolve("out.csv").toString();
        assertUsage("bench needs a kind: " + String.join(", ", KINDS), "bench");
        assertUsage("Unmatched argument at index 1: 'warp-speed'", "bench", "warp-speed");
        assertUsage("--sections takes a subset of copy,gemm,prefill,decode,decode-sweep,decode-long,sampling, got copy,warp",
                "bench", "kernels", csv, "--sections", "copy,warp");
        assertUsage("Missing required parameter: 'OUT.csv'", "bench", "runner", model);
        assertUsage("--batch must be positive, got 0", "bench", "runner-profile", model, "--batch", "0");
        assertUsage("--contexts must be positive, got -5", "bench", "runner-long", model, csv, "--contexts", "4096,-5");
        assertUsage("--steps must be at least 2, got 1", "bench", "runner-long", model, csv, "--steps", "1");
        assertUsage("--backend must be cpu or cuda: a benchmark names what it measures",
                "bench", "engine", model, "--backend", "auto");
        assertUsage("--rounds must be positive, got 0", "bench", "engine", model, "--rounds", "0");
        assertUsage("bench kv-stream: MODEL_DIR and OUT.csv are required", "bench", "kv-stream", model);
        assertUsage("bench kv-stream: --reps must be positive, got 0", "bench", "kv-stream", model, csv, "--reps", "0");
        assertUsage("bench kv-path: the GPU path needs --backend cuda; on the CPU measure --paths host", "bench",
                "kv-path", model, csv, "--backend", "cpu", "--paths", "gpu,host");
        assertUsage("bench kv-transfer: --transport is all, ipc or udp, got 'tcp'", "bench", "kv-transfer",
                "--transport", "tcp");
        assertUsage("--clients, --seconds, --prompt-tokens, --max-tokens, --prefill-nodes and --decode-nodes must be"
                + " positive", "bench", "router", "--clients", "0");
        assertTrue(Files.notExists(Path.of(csv)), "nothing written after a usage error");
    }

    private static void assertUsage(String firstLine, String... args) {
        final Outcome outcome = execute(args);
        assertEquals(2, outcome.status(), String.join(" ", args) + ": " + outcome.err());
        assertEquals(firstLine, outcome.firstErrorLine(), outcome.err());
        assertTrue(outcome.err().lines().noneMatch(line -> line.startsWith("\tat ")), "no stack trace: " + outcome.err());
    }

    @Test
    void gpuKindsRefuseInOneLineWhereThereIsNoGpu(@TempDir Path tmp) throws Exception {
        final String reason = CudaDevice.unavailableReason();
        assumeTrue(reason != null, "a GPU is here: the GPU kinds would run");
        final String model = TestSystems.demoModel().toString();
        final String csv = tmp.resolve("k.csv").toString();
        for (String[] args : new String[][] {{"bench", "kernels", csv}, {"bench", "runner", model, csv},
                {"bench", "runner-check", model, tmp.toString()}, {"bench", "runner-profile", model},
                {"bench", "runner-long", model, csv}, {"bench", "engine", model}}) {
            final Outcome outcome = execute(args);
            assertEquals(1, outcome.status(), String.join(" ", args) + ": " + outcome.err());
            assertEquals("error: bench " + args[1] + (args[1].equals("engine") ? " --backend cuda" : "")
                    + " needs a GPU: " + reason, outcome.err().strip(), String.join(" ", args));
        }
        assertTrue(Files.notExists(Path.of(csv)));
    }

    @Test
    void kvStreamGetsItsArgumentsInOrderAndWritesItsCsv(@TempDir Path tmp) throws Exception {
        final Path csv = tmp.resolve("kv.csv");
        final Outcome outcome = execute("bench", "kv-stream", TestSystems.demoModel().toString(), csv.toString(),
                "--lengths", "12,20", "--reps", "1");
        assertEquals(0, outcome.status(), outcome.err());
        final List<String> lines = Files.readAllLines(csv);
        assertEquals(3, lines.size(), String.join("\n", lines));
        assertTrue(lines.get(1).startsWith("12,") && lines.get(2).startsWith("20,"), String.join("\n", lines));
        assertTrue(outcome.out().contains("medians of 1 runs"), outcome.out());
    }

    @Test
    void engineKindRunsTheEngineAloneOnTheCpu() throws Exception {
        final Outcome outcome = execute("bench", "engine", TestSystems.demoModel().toString(), "--backend", "cpu",
                "--prompts", "3", "--prompt-tokens", "8", "--new-tokens", "4", "--rounds", "1");
        assertEquals(0, outcome.status(), outcome.err());
        assertTrue(outcome.out().contains("round 1: 3 x 8 prompt tokens, 4 new tokens each: 12 tokens in "),
                outcome.out());
    }

    @Test
    void routerKindTimesEveryLaterTokenOverAeronAndHttp() throws Exception {
        final StringWriter out = new StringWriter();
        final CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(out));
        final int status = cli.execute("bench", "router", "--model", TestSystems.demoModel().toString(),
                "--clients", "2", "--seconds", "1", "--prompt-tokens", "8", "--max-tokens", "6");
        assertEquals(0, status, out.toString());
        final String printed = out.toString();
        final String sustained = printed.lines().filter(l -> l.startsWith("sustained over Aeron IPC: ")).findFirst()
                .orElseThrow(() -> new AssertionError(printed));
        assertTrue(sustained.endsWith(" 0 failed)"), sustained);
        final long completed = Long.parseLong(sustained.replaceAll(".*\\((\\d+) requests in.*", "$1"));
        assertTrue(completed > 0, sustained);
        // over Aeron every token after the first of each completed request is timed: five per request at least
        assertTrue(count(printed, "| Aeron IPC client |") >= 5 * completed, printed);
        assertTrue(count(printed, "| HTTP SSE client |") > 0, printed);
    }

    private static long count(String printed, String rowStart) {
        final String row = printed.lines().filter(l -> l.startsWith(rowStart)).findFirst()
                .orElseThrow(() -> new AssertionError(rowStart + " in\n" + printed));
        return Long.parseLong(row.split("\\|")[2].trim());
    }
}
