package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.HistogramLogReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** A short open-loop load run against a serving system started in this JVM, and the command's one-line errors. */
@Timeout(120)
class LoadCommandTest {

    @Test
    void openLoopAgainstAnEmbeddedSystemWritesReportLogsAndPlots(@TempDir Path out) throws Exception {
        final Path demo = TestSystems.demoModel();
        final StringWriter stdout = new StringWriter();
        final CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(stdout));
        final int status = cli.execute("load", "--embedded", "--model", demo.toString(), "--rate", "4",
                "--duration", "2", "--workload", "fixed", "--prompt-tokens", "24", "--output-tokens", "6",
                "--slo-ttft-ms", "60000", "--slo-tpot-ms", "60000", "--drain-timeout", "30", "--out", out.toString());
        assertEquals(0, status, stdout.toString());
        final String report = Files.readString(out.resolve("report.md"));
        assertTrue(report.contains("| TTFT |") && report.contains("| TPOT |") && report.contains("open loop"), report);
        // every request completes, and with SLOs this loose every one meets them
        final String row = report.lines().filter(l -> l.startsWith("| ") && l.endsWith("100.0% |")).findFirst()
                .orElseThrow(() -> new AssertionError(report));
        final String[] cells = row.split("\\|");
        final long sent = Long.parseLong(cells[1].trim());
        assertTrue(sent >= 2, row);
        assertEquals(sent, Long.parseLong(cells[2].trim()), row);
        assertEquals(0, Long.parseLong(cells[3].trim()), row);
        assertTrue(report.contains("None."), "no errors expected: " + report);
        long ttftSamples = 0;
        final HistogramLogReader reader = new HistogramLogReader(out.resolve("ttft.hlog").toFile());
        for (EncodableHistogram h = reader.nextIntervalHistogram(); h != null; h = reader.nextIntervalHistogram()) {
            ttftSamples += ((org.HdrHistogram.Histogram) h).getTotalCount();
        }
        assertEquals(sent, ttftSamples);
        assertNotNull(ImageIO.read(out.resolve("latency-percentiles.png").toFile()));
        assertNotNull(ImageIO.read(out.resolve("throughput.png").toFile()));
        assertTrue(stdout.toString().contains("report: "), stdout.toString());
    }

    @Test
    void closedLoopThroughTheEmbeddedHttpShimAfterAWarmUpCompletesEveryRequest(@TempDir Path out) throws Exception {
        final StringWriter stdout = new StringWriter();
        final CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(stdout));
        final int status = cli.execute("load", "--embedded", "--via-http", "--model", TestSystems.demoModel().toString(),
                "--users", "2", "--requests", "6", "--duration", "30", "--workload", "chat", "--length-scale", "0.1",
                "--warmup", "1", "--out", out.toString());
        assertEquals(0, status, stdout.toString());
        final String report = Files.readString(out.resolve("report.md"));
        assertTrue(report.contains("http http://127.0.0.1:") && report.contains("closed loop, 2 users"), report);
        assertTrue(report.contains("| 6 | 6 | 0 |"), report);
        assertTrue(report.contains("None."), report);
        // the warm-up ran first and is not part of the report's six requests
        assertTrue(stdout.toString().startsWith("warm-up: "), stdout.toString());
    }

    @Test
    void userMistakesGetOneLineErrors(@TempDir Path out) throws Exception {
        final StringWriter err = new StringWriter();
        final CommandLine cli = new CommandLine(new Main());
        cli.setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("load", "--embedded", "--rate", "1", "--users", "2"));
        assertTrue(err.toString().contains("mutually exclusive"), err.toString());
        final ByteArrayOutputStream err2 = new ByteArrayOutputStream();
        final PrintStream savedErr = System.err;
        final int status;
        try {
            System.setErr(new PrintStream(err2, true, StandardCharsets.UTF_8));
            status = Main.execute("load", "--http", "http://127.0.0.1:1", "--rate", "1", "--workload", "poetry",
                    "--model", TestSystems.demoModel().toString(), "--out", out.toString());
        } finally {
            System.setErr(savedErr);
        }
        final String message = err2.toString(StandardCharsets.UTF_8);
        assertEquals(1, status, message);
        assertEquals(1, message.strip().lines().count(), message);
        assertTrue(message.startsWith("error: unknown workload 'poetry'"), message);
    }
}
