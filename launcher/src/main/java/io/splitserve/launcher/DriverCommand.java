package io.splitserve.launcher;

import io.aeron.driver.MediaDriver;
import io.aeron.driver.exceptions.ActiveDriverException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code splitserve driver}: a media driver as its own process, which router, prefill and decode processes on the
 * same host join ({@code --join-driver}) so that requests, tokens and KV move through shared memory (Aeron IPC)
 * instead of UDP. It has the settings of {@code serve}'s embedded driver (16 MiB terms, so KV chunks fit one
 * message; dead peers noticed within seconds), refuses a directory where a driver still runs, and on SIGINT or
 * SIGTERM stops and deletes its directory.
 */
@Command(
    name = "driver",
    mixinStandardHelpOptions = true,
    description = "Run an Aeron media driver that router, prefill and decode processes on this host join with"
        + " --join-driver, so they talk over shared memory (Aeron IPC).",
    footer = MediaDriverOptions.ONE_HOST_EXAMPLE)
final class DriverCommand implements Callable<Integer> {
    @Option(names = "--aeron-dir", paramLabel = "DIR", required = true,
        description = "Directory of the driver (on Linux best under /dev/shm); roles join it with --join-driver DIR"
            + " and clients connect to it.")
    String aeronDir;

    @Override
    public Integer call() throws Exception {
        try (ShutdownSignal shutdown = new ShutdownSignal(); MediaDriver driver = launch()) {
            new PrintStream(System.out, true, StandardCharsets.UTF_8)
                    .println("splitserve driver ready (media driver " + driver.aeronDirectoryName() + ")");
            shutdown.await();
        }
        return 0;
    }

    private MediaDriver launch() {
        try {
            // not deleting the directory on start is what makes Aeron refuse one whose driver is alive
            return MediaDriver.launch(ServingSystem.ipcDriver(aeronDir).dirDeleteOnStart(false));
        } catch (ActiveDriverException e) {
            throw new IllegalArgumentException("a media driver is running in " + aeronDir
                    + " (or was killed there less than 10 s ago)");
        }
    }
}
