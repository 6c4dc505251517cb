package io.splitserve.router;

import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The JDK HTTP server's connection timeouts, which it has only as JVM-wide system properties read once, when the first
 * server of the process is made (documented in the {@code jdk.httpserver} module, whole seconds): the request timer
 * {@code sun.net.httpserver.maxReqTime}, which closes a connection whose request is not read in full that long after
 * its first byte (request line, headers and body counted together), and the idle interval
 * {@code sun.net.httpserver.idleInterval}, which closes a persistent connection idle that long between requests, and a
 * new one that sends nothing for the lesser of the two. {@link #apply} sets them before the first {@link HttpShim} of
 * the process makes its server: the request timer to the header timeout plus the body timeout (so a body that arrives
 * within its own timeout is never cut, and one that does not still gets its 408 from the shim's watchdog first), the
 * idle interval to the keep-alive timeout, and the idle check to run every second
 * ({@code sun.net.httpserver.clockTick}, else every 10 s). Every limit is rounded up to whole seconds and enforced by timers that run each second, so a
 * connection closes up to about a second after its limit. A later shim of the same process keeps the first one's values
 * and says so once when its own differ; so does a process whose JDK server was made before any shim (not detected).
 */
final class HttpConnectionTimeouts {
    static final String MAX_REQUEST_SECONDS = "sun.net.httpserver.maxReqTime";
    static final String IDLE_SECONDS = "sun.net.httpserver.idleInterval";
    static final String IDLE_CHECK_MILLIS = "sun.net.httpserver.clockTick";

    private static String applied; // the values of the first shim of this process, in words

    private HttpConnectionTimeouts() {
    }

    /** Sets the JDK's properties from the first shim's context; a later context with other values is told of once. */
    static synchronized void apply(HttpShimContext ctx, Consumer<String> log) {
        final long requestSeconds = ceilSeconds(ctx.requestHeaderTimeoutNs() + ctx.bodyReadTimeoutNs());
        final long idleSeconds = ceilSeconds(ctx.keepAliveTimeoutNs());
        final String values = "request " + requestSeconds + " s (headers + body), keep-alive " + idleSeconds + " s";
        if (applied == null) {
            System.setProperty(MAX_REQUEST_SECONDS, Long.toString(requestSeconds));
            System.setProperty(IDLE_SECONDS, Long.toString(idleSeconds));
            System.setProperty(IDLE_CHECK_MILLIS, "1000");
            applied = values;
        } else if (!applied.equals(values)) {
            log.accept("http: connection timeouts are JVM-wide in the JDK's server; this server keeps the first one's ("
                    + applied + "), not its own (" + values + ")");
        }
    }

    private static long ceilSeconds(long ns) {
        return Math.max(1, (ns + TimeUnit.SECONDS.toNanos(1) - 1) / TimeUnit.SECONDS.toNanos(1));
    }
}
