package io.splitserve.launcher;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.agrona.CloseHelper;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;

/**
 * Runs one role (router, prefill or decode node) as its own process: an embedded media driver for UDP in its own
 * directory, the role's agent on its own thread, a "ready" line on standard output, and a clean stop (agent, then
 * driver, whose directory is deleted) when the process is asked to end.
 */
final class StandaloneRole {
    private StandaloneRole() {}

    interface AgentFactory {
        Agent create(Aeron aeron) throws Exception;
    }

    static int run(String role, String aeronDir, AgentFactory factory, Function<Agent, AutoCloseable> extra)
            throws Exception {
        try (ShutdownSignal shutdown = new ShutdownSignal()) {
            return run(role, aeronDir, factory, extra, shutdown);
        }
    }

    private static int run(String role, String aeronDir, AgentFactory factory, Function<Agent, AutoCloseable> extra,
                           ShutdownSignal shutdown) throws Exception {
        final String dir = aeronDir != null ? aeronDir : Path.of(System.getProperty("java.io.tmpdir"),
                "splitserve-" + role + "-" + ProcessHandle.current().pid()).toString();
        final MediaDriver driver = MediaDriver.launchEmbedded(new MediaDriver.Context()
                .aeronDirectoryName(dir)
                .threadingMode(ThreadingMode.SHARED)
                .dirDeleteOnStart(true)
                .dirDeleteOnShutdown(true)
                .ipcTermBufferLength(16 * 1024 * 1024)
                .publicationTermBufferLength(16 * 1024 * 1024)
                .imageLivenessTimeoutNs(TimeUnit.SECONDS.toNanos(2))
                .publicationConnectionTimeoutNs(TimeUnit.SECONDS.toNanos(2))
                .clientLivenessTimeoutNs(TimeUnit.SECONDS.toNanos(5)));
        Aeron aeron = null;
        AgentRunner runner = null;
        AutoCloseable more = null;
        try {
            aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()));
            final Agent agent = factory.create(aeron);
            runner = new AgentRunner(role.equals("router") ? ServingSystem.routerIdle() : ServingSystem.idle(),
                    Throwable::printStackTrace, null, agent);
            AgentRunner.startOnThread(runner);
            more = extra.apply(agent);
            final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            out.println("splitserve " + role + " ready (media driver " + driver.aeronDirectoryName() + ")");
            shutdown.await();
        } finally {
            CloseHelper.quietCloseAll(more, runner, aeron, driver);
        }
        return 0;
    }
}
