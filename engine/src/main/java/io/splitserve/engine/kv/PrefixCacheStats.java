package io.splitserve.engine.kv;

/**
 * Prefix cache counters since the engine started: prompt tokens looked up at admission, those found in cached
 * pages (so not computed again), pages registered now (referenced or idle), and cached pages evicted to make room.
 */
public record PrefixCacheStats(long lookedUpTokens, long hitTokens, int cachedPages, long evictions) {
    /** Share of looked-up prompt tokens found cached; 0 before any lookup. */
    public double hitRate() {
        return lookedUpTokens == 0 ? 0 : (double) hitTokens / lookedUpTokens;
    }
}
