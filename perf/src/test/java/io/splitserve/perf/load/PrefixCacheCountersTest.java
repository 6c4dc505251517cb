package io.splitserve.perf.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The counters are summed over nodes, other series and comments are skipped, a broken sample is refused; KV bytes per
 * transfer appear only when KV crossed between nodes during the run.
 */
class PrefixCacheCountersTest {
    private static final String BEFORE = """
            # HELP splitserve_prefix_cache_hit_tokens_total Prompt tokens found
            # TYPE splitserve_prefix_cache_hit_tokens_total counter
            splitserve_prefix_cache_hit_tokens_total{node="101",role="decode"} 10
            splitserve_prefix_cache_hit_tokens_total{node="102",role="decode"} 5
            splitserve_prefix_cache_lookup_tokens_total{node="101",role="decode"} 40
            splitserve_prefix_cache_evictions_total{node="101",role="decode"} 1
            splitserve_prefix_cache_pages{node="101",role="decode"} 7
            splitserve_queue_depth 3
            splitserve_kv_transfers_ok_total 2
            splitserve_kv_transfer_bytes_total 1000
            splitserve_kv_prefix_resends_total{node="1",role="prefill"} 0
            """;
    private static final String AFTER = BEFORE.replace("} 10", "} 110").replace("} 40", "} 240")
            .replace("ok_total 2", "ok_total 6").replace("bytes_total 1000", "bytes_total 5000")
            .replace("role=\"prefill\"} 0", "role=\"prefill\"} 3");

    @Test
    void sumsOverNodesAndSubtractsSnapshots() {
        final PrefixCacheCounters before = PrefixCacheCounters.parse(BEFORE);
        assertEquals(new PrefixCacheCounters(40, 15, 1, 7, 2, 1000, 0), before);
        final PrefixCacheCounters run = PrefixCacheCounters.parse(AFTER).since(before);
        assertEquals(200, run.lookupTokens());
        assertEquals(100, run.hitTokens());
        assertEquals(0.5, run.hitRate());
        assertTrue(run.markdown().contains("| 200 | 100 | 50.0% | 0 | 7 |"), run.markdown());
        assertTrue(run.markdown().contains("| 4 | 4000 | 1000 | 3 |"), run.markdown());
        assertTrue(!PrefixCacheCounters.parse(BEFORE).since(PrefixCacheCounters.parse(BEFORE)).markdown()
                .contains("KV transfers"), "no transfer, no transfer section");
        assertEquals(0, PrefixCacheCounters.parse("splitserve_queue_depth 1\n").hitRate());
        assertThrows(IllegalArgumentException.class,
                () -> PrefixCacheCounters.parse("splitserve_prefix_cache_pages{node=\"1\"} many\n"));
    }
}
