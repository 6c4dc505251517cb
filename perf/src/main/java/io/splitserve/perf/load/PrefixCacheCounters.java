package io.splitserve.perf.load;

import java.util.Locale;

/**
 * The servers' prefix-cache counters as the router's {@code /metrics} text gives them, summed over its nodes, and the
 * KV transfers between its nodes, so a load report can say what the cache did during a run, how many KV bytes
 * crossed from prefill to decode nodes per transfer and how many transfers were sent again whole because their decode
 * node had lost the prefix they left out: a snapshot before and one after, subtracted. Counters a server
 * does not publish read as 0 (a router without a prefix cache reports nothing to subtract).
 */
public record PrefixCacheCounters(long lookupTokens, long hitTokens, long evictions, long cachedPages,
                                  long kvTransfers, long kvBytes, long kvResends) {
    static final String LOOKUPS = "splitserve_prefix_cache_lookup_tokens_total";
    static final String HITS = "splitserve_prefix_cache_hit_tokens_total";
    static final String EVICTIONS = "splitserve_prefix_cache_evictions_total";
    static final String PAGES = "splitserve_prefix_cache_pages";
    static final String TRANSFERS = "splitserve_kv_transfers_ok_total";
    static final String KV_BYTES = "splitserve_kv_transfer_bytes_total";
    static final String RESENDS = "splitserve_kv_prefix_resends_total";

    /**
     * Sums each series over its label sets in Prometheus text exposition format.
     *
     * @throws IllegalArgumentException when a sample line of these series has no number where its value belongs.
     */
    public static PrefixCacheCounters parse(String metricsText) {
        long lookups = 0;
        long hits = 0;
        long evictions = 0;
        long pages = 0;
        long transfers = 0;
        long kvBytes = 0;
        long resends = 0;
        for (String line : metricsText.split("\n")) {
            if (line.isEmpty() || line.charAt(0) == '#') {
                continue;
            }
            final int labels = line.indexOf('{');
            final int space = line.lastIndexOf(' ');
            final String name = line.substring(0, labels >= 0 ? labels : Math.max(space, 0));
            final long value;
            switch (name) {
                case LOOKUPS, HITS, EVICTIONS, PAGES, TRANSFERS, KV_BYTES, RESENDS -> value = value(line, space);
                default -> {
                    continue;
                }
            }
            switch (name) {
                case LOOKUPS -> lookups += value;
                case HITS -> hits += value;
                case EVICTIONS -> evictions += value;
                case TRANSFERS -> transfers += value;
                case KV_BYTES -> kvBytes += value;
                case RESENDS -> resends += value;
                default -> pages += value;
            }
        }
        return new PrefixCacheCounters(lookups, hits, evictions, pages, transfers, kvBytes, resends);
    }

    private static long value(String line, int space) {
        try {
            return (long) Double.parseDouble(line.substring(space + 1).trim());
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
            throw new IllegalArgumentException("not a metrics sample: " + line);
        }
    }

    /** What happened between {@code before} and this snapshot (cached pages: as now). */
    public PrefixCacheCounters since(PrefixCacheCounters before) {
        return new PrefixCacheCounters(lookupTokens - before.lookupTokens, hitTokens - before.hitTokens,
                evictions - before.evictions, cachedPages, kvTransfers - before.kvTransfers, kvBytes - before.kvBytes,
                kvResends - before.kvResends);
    }

    /** Found over looked up, or 0 when nothing was looked up. */
    public double hitRate() {
        return lookupTokens == 0 ? 0 : (double) hitTokens / lookupTokens;
    }

    /** A report section: the cache's work and, when KV crossed between nodes, the bytes per transfer. */
    public String markdown() {
        final String cache = String.format(Locale.ROOT, "## Prefix cache (server side, during the run)%n%n| prompt"
                + " tokens looked up | found cached | hit rate | evictions | pages cached at the end |%n"
                + "|---:|---:|---:|---:|---:|%n| %d | %d | %.1f%% | %d | %d |%n", lookupTokens, hitTokens,
                100 * hitRate(), evictions, cachedPages);
        if (kvTransfers == 0) {
            return cache;
        }
        return cache + String.format(Locale.ROOT, "%n## KV transfers (server side, during the run)%n%n| transfers |"
                + " KV bytes | KV bytes per transfer | sent again whole (prefix lost) |%n|---:|---:|---:|---:|%n"
                + "| %d | %d | %d | %d |%n", kvTransfers, kvBytes, kvBytes / kvTransfers, kvResends);
    }
}
