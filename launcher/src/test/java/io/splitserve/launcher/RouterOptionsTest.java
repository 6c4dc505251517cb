package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.router.HttpShimContext;
import io.splitserve.router.RouterContext;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The router's prefix caching switch and KV-aware placement settings, from the command line to its context. */
class RouterOptionsTest {
    private static RouterContext parse(String... args) {
        final RouterOptions options = new RouterOptions();
        new CommandLine(options).parseArgs(args);
        final RouterContext ctx = new RouterContext();
        options.apply(ctx);
        return ctx;
    }

    @Test
    void prefixCachingIsOnUnlessNegated() {
        assertTrue(parse().prefixCaching());
        assertTrue(parse("--enable-prefix-caching").prefixCaching());
        assertFalse(parse("--no-enable-prefix-caching").prefixCaching());
    }

    @Test
    void kvAwareSettingsReachTheRouter() {
        final RouterContext defaults = parse();
        assertEquals(RouterContext.DEFAULT_KV_AWARE_BALANCE, defaults.kvAwareBalance());
        assertEquals(RouterContext.DEFAULT_KV_AWARE_IMBALANCE_FACTOR, defaults.kvAwareImbalanceFactor());
        final RouterContext tuned = parse("--kv-aware-balance", "0.25", "--kv-aware-imbalance-factor", "8");
        assertEquals(0.25, tuned.kvAwareBalance());
        assertEquals(8.0, tuned.kvAwareImbalanceFactor());
    }

    @Test
    void badKvAwareSettingsAreRefusedWithTheirNames() {
        final IllegalArgumentException balance = assertThrows(IllegalArgumentException.class,
                () -> parse("--kv-aware-balance", "-1"));
        assertEquals("--kv-aware-balance must be 0 or more and --kv-aware-imbalance-factor at least 1, got -1.0 and 4.0",
                balance.getMessage());
        assertThrows(IllegalArgumentException.class, () -> parse("--kv-aware-imbalance-factor", "0.5"));
    }

    private static HttpShimContext http(String... args) {
        final RouterOptions options = new RouterOptions();
        new CommandLine(options).parseArgs(args);
        return options.httpContext();
    }

    @Test
    void httpLimitsReachTheShim() {
        assertEquals(HttpShimContext.DEFAULT_MAX_CONCURRENT_REQUESTS, http().maxConcurrentRequests());
        assertEquals(HttpShimContext.DEFAULT_BODY_READ_TIMEOUT_NS, http().bodyReadTimeoutNs());
        assertEquals(HttpShimContext.DEFAULT_REQUEST_HEADER_TIMEOUT_NS, http().requestHeaderTimeoutNs());
        assertEquals(HttpShimContext.DEFAULT_KEEP_ALIVE_TIMEOUT_NS, http().keepAliveTimeoutNs());
        final HttpShimContext tuned = http("--max-concurrent-requests", "8", "--request-body-timeout-ms", "250",
                "--request-header-timeout-ms", "1500", "--keep-alive-timeout-ms", "2500");
        assertEquals(8, tuned.maxConcurrentRequests());
        assertEquals(TimeUnit.MILLISECONDS.toNanos(250), tuned.bodyReadTimeoutNs());
        assertEquals(TimeUnit.MILLISECONDS.toNanos(1500), tuned.requestHeaderTimeoutNs());
        assertEquals(TimeUnit.MILLISECONDS.toNanos(2500), tuned.keepAliveTimeoutNs());
        assertEquals("--max-concurrent-requests, --request-body-timeout-ms, --request-header-timeout-ms and"
                + " --keep-alive-timeout-ms must be positive, got 0, 30000, 10000 and 30000",
                assertThrows(IllegalArgumentException.class, () -> http("--max-concurrent-requests", "0")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> http("--keep-alive-timeout-ms", "0"));
    }
}
