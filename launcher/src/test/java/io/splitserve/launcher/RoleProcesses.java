package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code splitserve} commands as child processes of the test JVM (its module flags and class path, a 512 MiB heap,
 * Chronicle's analytics and banner off):
 * {@link #start} returns once the command printed its ready line; everything else it prints is echoed to the test's
 * standard error and kept for {@link #output}. Closing kills every child that still runs.
 */
final class RoleProcesses implements AutoCloseable {
    private record Child(Thread reader, StringBuffer output) {}

    private final Map<Process, Child> children = new ConcurrentHashMap<>();

    Process start(String... args) throws Exception {
        final List<String> command = ChildJvm.command(List.of(), List.of(args));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final CountDownLatch ready = new CountDownLatch(1);
        final StringBuffer output = new StringBuffer();
        final Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    if (line.contains(" ready ")) {
                        ready.countDown();
                    } else {
                        output.append(line).append('\n');
                        System.err.println("[" + args[0] + "] " + line);
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        children.put(process, new Child(reader, output));
        assertTrue(ready.await(60, TimeUnit.SECONDS), args[0] + " did not start");
        return process;
    }

    /**
     * The test JVM's class path; a JUnit console launcher keeps the tests' class path in a class loader of its own
     * rather than in {@code java.class.path}, so that loader's entries come too.
     */

    /** What the process printed besides its ready line; all of it once the process has ended. */
    String output(Process process) throws InterruptedException {
        final Child child = children.get(process);
        if (!process.isAlive()) {
            child.reader().join(TimeUnit.SECONDS.toMillis(10));
        }
        return child.output().toString();
    }

    @Override
    public void close() {
        for (Process p : children.keySet()) {
            p.destroyForcibly();
        }
        for (Process p : children.keySet()) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
