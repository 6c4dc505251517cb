package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.client.ClientContext;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code splitserve driver} with router, prefill and decode processes joined to it ({@code --join-driver}), every
 * channel on {@code aeron:ipc}: greedy output equals {@code generate} with the KV moved between the processes
 * through shared memory; a second driver in the same directory is refused; when the driver stops (SIGTERM) it
 * deletes its directory and every role stops with a one-line error. Joining where no driver runs is a one-line error
 * at once.
 */
@Timeout(180)
class IpcProcessesTest {
    private final RoleProcesses roles = new RoleProcesses();

    @AfterEach
    void killAll() {
        roles.close();
    }

    @Test
    void rolesJoinedToOneDriverServeOverIpcAndStopWithIt() throws Exception {
        final Path demo = TestSystems.demoModel();
        final String model = demo.toString();
        final String dir = TestSystems.aeronDir("ipc-driver");
        final Process driver = roles.start("driver", "--aeron-dir", dir);
        final Run second = run("driver", "--aeron-dir", dir);
        assertEquals(1, second.status(), second.err());
        assertEquals("error: a media driver is running in " + dir + " (or was killed there less than 10 s ago)",
                second.err().strip());

        final RouterHttp http = RouterHttp.startRouter(roles, "--model", model, "--join-driver", dir);
        final List<Process> joined = List.of(http.process(),
                roles.start("prefill", "--model", model, "--join-driver", dir),
                roles.start("decode", "--model", model, "--join-driver", dir));
        http.awaitNodes("prefill", 1);
        http.awaitNodes("decode", 1);
        try (SplitServeClient client = SplitServeClient.connect(new ClientContext().aeronDirectoryName(dir))) {
            final String prompt = "Once upon a time";
            assertArrayEquals(Reference.generate(demo, prompt, 20).tokens(),
                    client.generate(GenerateOptions.greedy(prompt, 20)).tokenIds(), "IPC path equals generate");
        }
        assertEquals(1, http.metrics().count("splitserve_kv_transfers_ok_total"),
                "the prefill process sent the KV to the decode process");

        driver.destroy();
        assertTrue(driver.waitFor(20, TimeUnit.SECONDS), "the driver stops on SIGTERM");
        assertEquals(128 + 15, driver.exitValue(), "the JVM's status after SIGTERM: " + roles.output(driver));
        assertEquals("", roles.output(driver), "a quiet stop");
        assertFalse(Files.exists(Path.of(dir)), "the driver deleted its directory");
        for (Process role : joined) {
            assertTrue(role.waitFor(30, TimeUnit.SECONDS), "a role stops with its driver");
            final String output = roles.output(role);
            assertEquals(1, role.exitValue(), output);
            assertTrue(output.strip().endsWith("stopped too"), output);
            assertTrue(output.contains("error: the media driver in " + dir + " stopped answering"), output);
        }
    }

    @Test
    void joiningWhereNoDriverRunsIsOneLineAtOnce(@TempDir Path empty) throws Exception {
        final String model = TestSystems.demoModel().toString();
        final long start = System.nanoTime();
        final Run run = run("prefill", "--model", model, "--join-driver", empty.toString());
        assertEquals(1, run.status(), run.err());
        assertEquals("error: no media driver is running in " + empty + " (start one with: splitserve driver"
                + " --aeron-dir " + empty + ")", run.err().strip());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "no wait for a driver timeout");

        final Run both = run("router", "--model", model, "--join-driver", empty.toString(), "--aeron-dir", "x");
        assertEquals(2, both.status(), both.err());
        assertTrue(both.err().startsWith("Error: --aeron-dir=DIR, --join-driver=DIR are mutually exclusive"),
                both.err());

        final Run ackPort = run("decode", "--model", model, "--join-driver", empty.toString(), "--kv-ack-port", "40999");
        assertEquals(1, ackPort.status(), ackPort.err());
        assertEquals("error: --kv-ack-port is for a UDP KV channel; over aeron:ipc the KV acks go over IPC too",
                ackPort.err().strip());
    }

    private record Run(int status, String err) {}

    /** Runs a command in this JVM, as {@code splitserve} would, capturing its standard error. */
    private static Run run(String... args) {
        final PrintStream savedErr = System.err;
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            final int status = Main.execute(args);
            return new Run(status, err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(savedErr);
        }
    }
}
