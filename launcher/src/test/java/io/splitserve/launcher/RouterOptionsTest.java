package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.router.RouterContext;
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
}
