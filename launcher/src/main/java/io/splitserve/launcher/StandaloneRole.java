package io.splitserve.launcher;

import io.aeron.Aeron;
import io.aeron.CommonContext;
import io.aeron.driver.MediaDriver;
import io.aeron.exceptions.DriverTimeoutException;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.agrona.CloseHelper;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;

/**
 * Runs one role (router, prefill or decode node) as its own process: over an embedded media driver in its own
 * directory, or over a running {@code splitserve driver} it joins; the role's agent on its own thread, a "ready" line
 * on standard output, and a clean stop (agent, then the embedded driver, whose directory is deleted) when the process
 * is asked to end. A joined driver is left running. If the driver stops answering, the role stops too and the command
 * fails with a one-line {@link DriverUnavailableException}, instead of running on with a closed Aeron client.
 */
final class StandaloneRole {
    private StandaloneRole() {}

    interface AgentFactory {
        Agent create(Aeron aeron) throws Exception;
    }

    static int run(String role, MediaDriverOptions drivers, AgentFactory factory,
                   Function<Agent, AutoCloseable> extra) throws Exception {
        try (ShutdownSignal shutdown = new ShutdownSignal()) {
            return run(role, drivers, factory, extra, shutdown);
        }
    }

    private static int run(String role, MediaDriverOptions drivers, AgentFactory factory,
                           Function<Agent, AutoCloseable> extra, ShutdownSignal shutdown) throws Exception {
        final AtomicBoolean driverLost = new AtomicBoolean();
        final Aeron.Context clientContext = new Aeron.Context().errorHandler(error -> {
            if (error instanceof DriverTimeoutException) {
                driverLost.set(true);
                shutdown.request();
            } else {
                Aeron.Configuration.DEFAULT_ERROR_HANDLER.onError(error);
            }
        });
        MediaDriver driver = null;
        Aeron aeron = null;
        AgentRunner runner = null;
        AutoCloseable more = null;
        final String dir;
        if (drivers.joins()) {
            dir = drivers.joinDir();
            aeron = join(dir, clientContext);
        } else {
            driver = MediaDriver.launchEmbedded(ServingSystem.ipcDriver(drivers.ownDir() != null ? drivers.ownDir()
                    : Path.of(System.getProperty("java.io.tmpdir"),
                    "splitserve-" + role + "-" + ProcessHandle.current().pid()).toString()));
            dir = driver.aeronDirectoryName();
        }
        try {
            if (aeron == null) {
                aeron = Aeron.connect(clientContext.aeronDirectoryName(dir));
            }
            final Agent agent = factory.create(aeron);
            runner = new AgentRunner(role.equals("router") ? ServingSystem.routerIdle() : ServingSystem.idle(),
                    Throwable::printStackTrace, null, agent);
            AgentRunner.startOnThread(runner);
            more = extra.apply(agent);
            final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            out.println("splitserve " + role + " ready (" + (driver == null ? "joined " : "") + "media driver "
                    + dir + ")");
            shutdown.await();
        } catch (Exception e) {
            if (driverLost.get()) {
                throw stopped(role, dir, e);
            }
            throw e;
        } finally {
            CloseHelper.quietCloseAll(more, runner, aeron, driver);
        }
        if (driverLost.get()) {
            throw stopped(role, dir, null);
        }
        return 0;
    }

    /** Connects to the running driver in {@code dir}, or fails at once (not after a timeout) when none runs there. */
    private static Aeron join(String dir, Aeron.Context clientContext) {
        final String missing = "no media driver is running in " + dir + " (start one with: splitserve driver"
                + " --aeron-dir " + dir + ")";
        if (!CommonContext.isDriverActive(new File(dir), clientContext.driverTimeoutMs(), message -> { })) {
            throw new DriverUnavailableException(missing);
        }
        try {
            return Aeron.connect(clientContext.aeronDirectoryName(dir));
        } catch (DriverTimeoutException e) {
            throw new DriverUnavailableException(missing);
        }
    }

    private static DriverUnavailableException stopped(String role, String dir, Exception cause) {
        final DriverUnavailableException e = new DriverUnavailableException("the media driver in " + dir
                + " stopped answering, so " + role + " stopped too");
        if (cause != null) {
            e.addSuppressed(cause);
        }
        return e;
    }
}
