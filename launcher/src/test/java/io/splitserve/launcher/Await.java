package io.splitserve.launcher;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Waiting for observable state (a metric, a health count, a node's free pages) instead of sleeping for a time that
 * is assumed to be enough: the check is repeated until it holds, and the test's {@code @Timeout} bounds the wait, so
 * a slow machine only makes a test slower, never wrong.
 */
final class Await {
    /** A check that may throw (e.g. an HTTP request). */
    interface Check {
        boolean holds() throws Exception;
    }

    private Await() {}

    /** Returns once {@code check} holds; {@code what} names it for a thread dump when the test's timeout fires. */
    static void until(String what, Check check) throws Exception {
        final Thread self = Thread.currentThread();
        final String name = self.getName();
        self.setName(name + " awaiting " + what);
        try {
            while (!check.holds()) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
                if (Thread.interrupted()) {
                    throw new InterruptedException("interrupted awaiting " + what);
                }
            }
        } finally {
            self.setName(name);
        }
    }
}
