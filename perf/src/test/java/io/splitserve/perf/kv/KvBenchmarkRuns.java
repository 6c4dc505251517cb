package io.splitserve.perf.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.demo.DemoModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * What the KV benchmarks' tests share: the demo model they measure, standard streams captured as text, and the check
 * that a command line fails with a given exit status and one first line on standard error, no stack trace.
 */
final class KvBenchmarkRuns {
    /** A benchmark's entry point, as {@code KvStreamBenchmark.run} and {@code KvPathBenchmark.run} are. */
    @FunctionalInterface
    interface Benchmark {
        int run(String[] args, PrintStream out, PrintStream err);
    }

    private KvBenchmarkRuns() {
    }

    static Path demo() throws Exception {
        return DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
    }

    static PrintStream print(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }

    static void assertError(Benchmark benchmark, int status, String firstLine, String... args) {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(status, benchmark.run(args, print(new ByteArrayOutputStream()), print(err)));
        final String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(firstLine, text.lines().findFirst().orElse(""), text);
        assertTrue(text.lines().noneMatch(line -> line.startsWith("\tat ")), "no stack trace: " + text);
    }
}
