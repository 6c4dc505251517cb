package io.splitserve.launcher;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Lets a server command run until the process is asked to stop (SIGINT, SIGTERM) and still shut down cleanly: the
 * shutdown hook wakes {@link #await()} and then holds the JVM open (up to 10 s) until {@link #close()} says the
 * command has closed everything, so agents stop and media driver directories are deleted.
 */
final class ShutdownSignal implements AutoCloseable {
    private final CountDownLatch requested = new CountDownLatch(1);
    private final CountDownLatch finished = new CountDownLatch(1);

    ShutdownSignal() {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            requested.countDown();
            try {
                finished.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "splitserve-shutdown"));
    }

    void await() throws InterruptedException {
        requested.await();
    }

    /** Wakes {@link #await()} as a signal would, when the command must stop for a reason of its own. */
    void request() {
        requested.countDown();
    }

    @Override
    public void close() {
        finished.countDown();
    }
}
