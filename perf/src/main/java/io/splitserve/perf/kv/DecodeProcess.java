package io.splitserve.perf.kv;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The benchmark's handle on its {@link KvPathDecodeProcess}: started as a child JVM with this JVM's executable, class
 * path and flags (the module openings Aeron and the codecs need come from there), its reports read from its standard
 * output by a thread of their own into a queue the benchmark polls without blocking, and its standard error copied,
 * line by line, to the benchmark's. A process that exits is seen as such: polling after its last report fails with the
 * exit status and the reason it gave. Closing ends its standard input, which stops it, and waits for it (killing it
 * after a grace period).
 */
final class DecodeProcess implements AutoCloseable {
    private static final long EXIT_GRACE_SECONDS = 30;
    private static final Object END = new Object();

    private final Process process;
    private final LinkedBlockingQueue<Object> lines = new LinkedBlockingQueue<>();
    private String stoppedReason;
    private boolean ended;

    private DecodeProcess(Process process, PrintStream err) {
        this.process = process;
        pump("kv-path-decode-out", process.getInputStream(), lines::add, true);
        pump("kv-path-decode-err", process.getErrorStream(), line -> err.println("decode process: " + line), false);
    }

    /** Starts {@link KvPathDecodeProcess} with {@code args}. */
    static DecodeProcess start(List<String> args, PrintStream err) {
        final List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String flag : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!flag.startsWith("-agentlib:jdwp") && !flag.startsWith("-Xrunjdwp")) {
                command.add(flag);
            }
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(KvPathDecodeProcess.class.getName());
        command.addAll(args);
        try {
            return new DecodeProcess(new ProcessBuilder(command).start(), err);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the decode process (" + command.get(0) + "): "
                    + e.getMessage(), e);
        }
    }

    private void pump(String name, InputStream stream, Consumer<String> sink, boolean markEnd) {
        final Thread thread = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    sink.accept(line);
                }
            } catch (IOException ignored) {
                // the process is gone: its end is reported below
            }
            if (markEnd) {
                lines.add(END);
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * The next report, or null when none has arrived; lines that are not reports are passed over.
     *
     * @throws IllegalStateException when the process stopped (its reason, or its exit status).
     */
    DecodeReport poll() {
        Object next;
        while ((next = lines.poll()) != null) {
            final DecodeReport report = take(next);
            if (report != null) {
                return report;
            }
        }
        return null;
    }

    /** The next report, waiting up to {@code timeoutNs}; null when none came in that time. */
    DecodeReport await(long timeoutNs) {
        final long deadline = System.nanoTime() + timeoutNs;
        try {
            for (long left = timeoutNs; left > 0; left = deadline - System.nanoTime()) {
                final Object next = lines.poll(left, TimeUnit.NANOSECONDS);
                if (next == null) {
                    return null;
                }
                final DecodeReport report = take(next);
                if (report != null) {
                    return report;
                }
            }
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the decode process", e);
        }
    }

    private DecodeReport take(Object next) {
        if (next == END || ended) {
            ended = true;
            throw new IllegalStateException("the decode process stopped" + (stoppedReason != null
                    ? ": " + stoppedReason : " with exit status " + exitStatus()));
        }
        final DecodeReport report = DecodeReport.parse((String) next);
        if (report instanceof DecodeReport.Stopped stopped) {
            stoppedReason = stopped.message();
            return null;
        }
        return report;
    }

    private String exitStatus() {
        try {
            return process.waitFor(EXIT_GRACE_SECONDS, TimeUnit.SECONDS) ? Integer.toString(process.exitValue())
                    : "unknown (still running)";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown (interrupted)";
        }
    }

    /** Ends the process's standard input and waits for it to exit, killing it if it outlasts the grace period. */
    @Override
    public void close() {
        try {
            process.getOutputStream().close();
        } catch (IOException ignored) {
            // already gone
        }
        try {
            if (!process.waitFor(EXIT_GRACE_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(EXIT_GRACE_SECONDS, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
