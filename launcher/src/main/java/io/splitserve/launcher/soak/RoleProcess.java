package io.splitserve.launcher.soak;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import io.splitserve.launcher.ChildJvm;
import java.util.stream.Stream;

/**
 * One incarnation of a {@code splitserve <role>} command as a child JVM of the soak: this JVM's module flags and class
 * path, Chronicle's analytics and banner off, extra system properties (Aeron's loss generator) where asked. Its output
 * is appended to a log file of its role. {@link #start} returns once the command printed its ready line (and, for the
 * router, the HTTP port it bound), or fails naming the log. {@link #kill} is SIGKILL: no shutdown hook runs.
 */
final class RoleProcess {
    private static final Pattern HTTP_PORT = Pattern.compile("splitserve router http port (\\d+)");
    private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");

    private final String name;
    private final Process process;
    private final Path log;
    private volatile int httpPort = -1;

    private RoleProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /** Starts {@code splitserve args...} with {@code -Dname=value} for each of {@code properties}; waits for ready. */
    static RoleProcess start(String name, Path logDir, List<String> properties, List<String> args, long readyTimeoutNs)
            throws IOException, InterruptedException {
        final List<String> command = ChildJvm.command(properties, args);
        final Path log = logDir.resolve(name + ".log");
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final RoleProcess role = new RoleProcess(name, process, log);
        final CountDownLatch ready = new CountDownLatch(1);
        final boolean router = args.get(0).equals("router");
        final Thread reader = new Thread(() -> role.copyOutput(ready, router), "soak-log-" + name);
        reader.setDaemon(true);
        reader.start();
        if (!ready.await(readyTimeoutNs, TimeUnit.NANOSECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException(name + " did not start within "
                    + TimeUnit.NANOSECONDS.toSeconds(readyTimeoutNs) + " s; its output is in " + log);
        }
        if (!process.isAlive()) {
            throw new IllegalStateException(name + " exited at start with status " + process.exitValue()
                    + "; its output is in " + log);
        }
        return role;
    }

    private void copyOutput(CountDownLatch ready, boolean router) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8));
             PrintWriter out = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8,
                     StandardOpenOption.CREATE, StandardOpenOption.APPEND), true)) {
            out.println("---- " + name + " pid " + process.pid());
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                out.println(line);
                final Matcher port = HTTP_PORT.matcher(line);
                if (port.find()) {
                    httpPort = Integer.parseInt(port.group(1));
                }
                if (line.contains(" ready ") && (!router || httpPort > 0)) {
                    ready.countDown();
                }
            }
        } catch (IOException e) {
            // the process ended or the log cannot be written; either way there is nothing more to copy
        } finally {
            ready.countDown(); // an early exit must not leave start() waiting out its timeout
        }
    }

    /**
     * The test JVM's or the jar's class path; a JUnit console launcher keeps its class path in a class loader of its
     * own rather than in {@code java.class.path}, so that loader's entries come too.
     */

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** The HTTP port a router bound; -1 for other roles. */
    int httpPort() {
        return httpPort;
    }

    /** SIGKILL, then waits for the process to be gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** Open file descriptors, counted in /proc/PID/fd. */
    int openFiles() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(process.pid()), "fd"))) {
            return (int) fds.count();
        }
    }

    /** Java heap in use right after a full GC, in KiB, read with one jcmd call (GC.run, then GC.heap_info). */
    long heapUsedAfterGcKib(Path scratch) throws IOException, InterruptedException {
        final Path commands = scratch.resolve("jcmd-" + process.pid() + ".txt");
        Files.writeString(commands, "GC.run\nGC.heap_info\n");
        final Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(process.pid()), "-f", commands.toString()).redirectErrorStream(true).start();
        final String output = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        jcmd.waitFor(60, TimeUnit.SECONDS);
        Files.deleteIfExists(commands);
        final Matcher used = HEAP_USED.matcher(output);
        if (!used.find()) {
            throw new IOException("jcmd " + process.pid() + " GC.heap_info gave no heap figure: " + output);
        }
        return Long.parseLong(used.group(1));
    }
}
