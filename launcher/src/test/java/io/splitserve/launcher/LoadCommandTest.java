package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitserve.perf.load.OpenLoop;
import io.splitserve.perf.load.PromptFactory;
import io.splitserve.perf.load.RequestSpec;
import io.splitserve.perf.load.RunSettings;
import io.splitserve.perf.load.ScheduledRequest;
import io.splitserve.perf.load.SharedPrefixWorkload;
import io.splitserve.perf.load.SyntheticWorkload;
import io.splitserve.perf.load.WorkloadMix;
import io.splitserve.router.HttpShim;
import io.splitserve.router.HttpShimContext;
import io.splitserve.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.HistogramLogReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A short open-loop load run against a serving system started in this JVM, the open-loop schedule written instead of
 * sent, and the command's one-line errors.
 */
@Timeout(120)
class LoadCommandTest {

    @Test
    void openLoopAgainstAnEmbeddedSystemWritesReportLogsAndPlots(@TempDir Path out) throws Exception {
        final Path demo = TestSystems.demoModel();
        final StringWriter stdout = new StringWriter();
        final CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(stdout));
        final int status = cli.execute("bench", "load", "--embedded", "--model", demo.toString(), "--rate", "4",
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

    /** An embedded run's report says what the prefix cache did: a shared system prompt is found cached after the first. */
    @Test
    void theReportOfAnEmbeddedRunCountsPrefixCacheHits(@TempDir Path out) throws Exception {
        final StringWriter stdout = new StringWriter();
        final CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(stdout));
        assertEquals(0, cli.execute("bench", "load", "--embedded", "--colocated", "--model",
                TestSystems.demoModel().toString(), "--users", "1", "--requests", "4", "--duration", "30",
                "--workload", "system-prompt", "--length-scale", "0.1", "--out", out.toString()), stdout.toString());
        final String report = Files.readString(out.resolve("report.md"));
        final String row = report.lines().dropWhile(l -> !l.startsWith("## Prefix cache")).skip(4).findFirst()
                .orElseThrow(() -> new AssertionError(report));
        final String[] cells = row.split("\\|");
        final long lookedUp = Long.parseLong(cells[1].trim());
        final long found = Long.parseLong(cells[2].trim());
        // four prompts of 102 shared + 6 own tokens; the three after the first find the shared whole pages
        assertTrue(found >= 3 * 96 && found < lookedUp, row);
        assertTrue(stdout.toString().contains("prefix cache: " + found + " of " + lookedUp), stdout.toString());
        assertTrue(!report.contains("## KV transfers"), "a colocated node moves no KV between nodes: " + report);
    }

    /** Against a running server's HTTP front door, the report's prefix-cache section comes from its /metrics. */
    @Test
    void aRemoteServersMetricsGiveTheReportsPrefixCacheSection(@TempDir Path out) throws Exception {
        try (ServingSystem system = ServingSystem.start(TestSystems.options("load-remote-metrics").colocated(true));
             HttpShim shim = new HttpShim(system.router(), new HttpShimContext().port(0))) {
            final StringWriter stdout = new StringWriter();
            final CommandLine cli = new CommandLine(new Main());
            cli.setOut(new PrintWriter(stdout));
            assertEquals(0, cli.execute("bench", "load", "--http", "http://127.0.0.1:" + shim.port(), "--model",
                    TestSystems.demoModel().toString(), "--users", "1", "--requests", "3", "--duration", "30",
                    "--workload", "system-prompt", "--length-scale", "0.1", "--out", out.toString()),
                    stdout.toString());
            final String report = Files.readString(out.resolve("report.md"));
            assertTrue(report.contains("## Prefix cache (server side, during the run)"), report);
            assertTrue(stdout.toString().matches("(?s).*prefix cache: [1-9][0-9]* of [1-9][0-9]* prompt tokens.*"),
                    stdout.toString());
        }
    }

    @Test
    void closedLoopThroughTheEmbeddedHttpShimAfterAWarmUpCompletesEveryRequest(@TempDir Path out) throws Exception {
        final StringWriter stdout = new StringWriter();
        final CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(stdout));
        final int status = cli.execute("bench", "load", "--embedded", "--via-http", "--model", TestSystems.demoModel().toString(),
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
    void writeScheduleWritesExactlyTheOpenLoopsRequestsAndSendsNothing(@TempDir Path out) throws Exception {
        final Path demo = TestSystems.demoModel();
        final Path file = out.resolve("plans").resolve("schedule.jsonl");
        final StringWriter stdout = new StringWriter();
        final CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(stdout));
        final int status = cli.execute("bench", "load", "--model", demo.toString(), "--rate", "20", "--duration", "5",
                "--workload", "mixed", "--length-scale", "0.05", "--seed", "3", "--write-schedule", file.toString());
        assertEquals(0, status, stdout.toString());
        assertTrue(stdout.toString().startsWith("wrote "), stdout.toString());

        final Tokenizer tokenizer = Tokenizer.load(demo.resolve("tokenizer.json"));
        final WorkloadMix mix = WorkloadMix.named("mixed", 600, 600).scaled(0.05);
        final ScheduledRequest[] expected = new OpenLoop(20, 3).plan(
                new SyntheticWorkload(mix, new PromptFactory(tokenizer), 3), new RunSettings().durationNs(5_000_000_000L));
        final ObjectMapper json = new ObjectMapper();
        final List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            lines.add(json.readTree(line));
        }
        // Poisson count at 20/s over 5 s: mean 100, standard deviation 10
        assertTrue(lines.size() >= 60 && lines.size() <= 140, "count " + lines.size());
        assertEquals(expected.length, lines.size());
        for (int i = 0; i < lines.size(); i++) {
            final JsonNode line = lines.get(i);
            final RequestSpec request = expected[i].request();
            assertEquals(i, line.get("index").asInt());
            assertEquals(expected[i].offsetNs() / 1e9, line.get("at_s").asDouble(), 1e-9);
            assertEquals(request.prompt(), line.get("prompt").asText());
            assertEquals(request.promptTokens(), line.get("prompt_tokens").asInt());
            assertEquals(request.outputTokens(), line.get("max_tokens").asInt());
            assertEquals(20.0, line.get("rate").asDouble());
            assertEquals(5.0, line.get("duration_s").asDouble());
            assertEquals(line.get("prompt_tokens").asInt(), tokenizer.encode(line.get("prompt").asText(), true).length,
                    "line " + i);
        }
        assertTrue(lines.stream().map(l -> l.get("prompt_tokens").asInt()).distinct().count() > 10,
                "a mixed workload has many prompt lengths");
    }

    @Test
    void writeScheduleNeedsAnOpenLoopAndARunNeedsATarget(@TempDir Path out) throws Exception {
        final String demo = TestSystems.demoModel().toString();
        final StringWriter err = new StringWriter();
        final CommandLine cli = new CommandLine(new Main());
        cli.setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("bench", "load", "--model", demo, "--users", "2",
                "--write-schedule", out.resolve("s.jsonl").toString()));
        assertTrue(err.toString().contains("use it with --rate"), err.toString());
        assertEquals(2, cli.execute("bench", "load", "--model", demo, "--rate", "1"));
        assertTrue(err.toString().contains("load needs a target"), err.toString());
        assertTrue(Files.notExists(out.resolve("s.jsonl")));
    }

    /** `--workload multi-turn` reaches the shared-prefix workload: the schedule holds its requests, in order. */
    @Test
    void sharedPrefixWorkloadsAreNamedOnTheCommandLine(@TempDir Path out) throws Exception {
        final Path demo = TestSystems.demoModel();
        final Path file = out.resolve("turns.jsonl");
        final StringWriter stdout = new StringWriter();
        final CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(stdout));
        assertEquals(0, cli.execute("bench", "load", "--model", demo.toString(), "--rate", "20", "--duration", "3",
                "--workload", "multi-turn", "--length-scale", "0.1", "--seed", "4", "--write-schedule",
                file.toString()), stdout.toString());
        final Tokenizer tokenizer = Tokenizer.load(demo.resolve("tokenizer.json"));
        final SharedPrefixWorkload expected = new SharedPrefixWorkload("multi-turn", new PromptFactory(tokenizer), 0.1,
                4);
        final ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(file)) {
            assertEquals(expected.next().prompt(), json.readTree(line).get("prompt").asText());
        }
    }

    @Test
    void userMistakesGetOneLineErrors(@TempDir Path out) throws Exception {
        final StringWriter err = new StringWriter();
        final CommandLine cli = new CommandLine(new Main());
        cli.setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("bench", "load", "--embedded", "--rate", "1", "--users", "2"));
        assertTrue(err.toString().contains("mutually exclusive"), err.toString());
        final ByteArrayOutputStream err2 = new ByteArrayOutputStream();
        final PrintStream savedErr = System.err;
        final int status;
        try {
            System.setErr(new PrintStream(err2, true, StandardCharsets.UTF_8));
            status = Main.execute("bench", "load", "--http", "http://127.0.0.1:1", "--rate", "1", "--workload", "poetry",
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
