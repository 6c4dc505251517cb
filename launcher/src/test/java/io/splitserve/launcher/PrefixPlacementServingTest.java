package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.client.ClientContext;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The prefix caching switch through a whole system in one JVM (1 prefill + 1 decode node): with it on, the same prompt
 * sent twice is placed the second time for the prefix its nodes hold, and /metrics says so; with it off, every
 * placement goes by load. A colocated node's cache hits reach /metrics through its heartbeats, a decode node caches the
 * KV it received, and a prompt it holds crosses the wire with only the KV it lacks.
 */
@Timeout(120)
class PrefixPlacementServingTest {
    private static final String PROMPT = "The lighthouse keeper counted the ships that passed in the night. ".repeat(4);

    /** Sends the prompt twice, one after the other, and returns the router's metrics. */
    private static Metrics twice(boolean prefixCaching) throws Exception {
        try (ServingSystem system = ServingSystem.start(TestSystems.options("prefix-placement")
                .prefixCaching(prefixCaching));
             SplitServeClient client = SplitServeClient.connect(new ClientContext(), system.aeron())) {
            client.generate(GenerateOptions.greedy(PROMPT, 2));
            client.generate(GenerateOptions.greedy(PROMPT, 2));
            return Metrics.parse(system.router().metricsText().get());
        }
    }

    /**
     * A colocated node's prefix cache through the whole system: the repeated prompt's cached pages are found again and
     * the node's heartbeats put the hits in /metrics; the answers are the same with the cache on and off.
     */
    @Test
    void aColocatedNodesCacheHitsReachMetricsAndChangeNoToken() throws Exception {
        final int[][] answers = new int[2][];
        for (int run = 0; run < 2; run++) {
            final boolean caching = run == 0;
            try (ServingSystem system = ServingSystem.start(TestSystems.options("prefix-colocated").colocated(true)
                    .prefixCaching(caching));
                 SplitServeClient client = SplitServeClient.connect(new ClientContext(), system.aeron())) {
                final int[] first = client.generate(GenerateOptions.greedy(PROMPT, 6)).tokenIds();
                answers[run] = client.generate(GenerateOptions.greedy(PROMPT, 6)).tokenIds();
                assertEquals(java.util.Arrays.toString(first), java.util.Arrays.toString(answers[run]),
                        "the same prompt twice");
                if (caching) {
                    Await.until("the node's heartbeat to report its cache hits", () -> hitTokens(system) > 0);
                    final Metrics metrics = Metrics.parse(system.router().metricsText().get());
                    assertTrue(metrics.count("splitserve_prefix_cache_lookup_tokens_total", "node", "101", "role",
                            "prefill_and_decode") >= metrics.count("splitserve_prefix_cache_hit_tokens_total", "node",
                            "101", "role", "prefill_and_decode"));
                    assertTrue(metrics.count("splitserve_prefix_cache_pages", "node", "101", "role",
                            "prefill_and_decode") > 0);
                }
            }
        }
        assertEquals(java.util.Arrays.toString(answers[0]), java.util.Arrays.toString(answers[1]),
                "the cache changes no token");
    }

    /**
     * A decode node caches the KV it receives (the prefill node sends the prompt's token ids with it): once the request
     * is done its pages stay cached, and its heartbeats say so; with caching off it keeps none.
     */
    @Test
    void aDecodeNodeCachesTheKvItReceived() throws Exception {
        for (boolean caching : new boolean[] {true, false}) {
            try (ServingSystem system = ServingSystem.start(TestSystems.options("prefix-decode")
                    .prefixCaching(caching));
                 SplitServeClient client = SplitServeClient.connect(new ClientContext(), system.aeron())) {
                client.generate(GenerateOptions.greedy(PROMPT, 2));
                if (caching) {
                    Await.until("the decode node to report the pages it cached", () -> Metrics.parse(
                            system.router().metricsText().get()).count("splitserve_prefix_cache_pages", "node", "101",
                            "role", "decode") > 0);
                } else {
                    assertEquals(0, Metrics.parse(system.router().metricsText().get()).count(
                            "splitserve_prefix_cache_pages", "node", "101", "role", "decode"));
                }
            }
        }
    }

    /**
     * Only the KV a decode node lacks crosses the wire: the same prompt sent again moves fewer KV bytes than the first
     * time (the decode node shares its cached pages for the rest), the decode node reports those hits, and the answers
     * equal those of a system without the cache; with the cache off the second transfer is as large as the first.
     */
    @Test
    void aRepeatedPromptSendsOnlyTheKvItsDecodeNodeLacks() throws Exception {
        final String[] answers = new String[2];
        for (int run = 0; run < 2; run++) {
            final boolean caching = run == 0;
            try (ServingSystem system = ServingSystem.start(TestSystems.options("prefix-transfer")
                    .prefixCaching(caching));
                 SplitServeClient client = SplitServeClient.connect(new ClientContext(), system.aeron())) {
                final int[] first = client.generate(GenerateOptions.greedy(PROMPT, 4)).tokenIds();
                final long firstBytes = kvBytes(system, 1);
                final int[] second = client.generate(GenerateOptions.greedy(PROMPT, 4)).tokenIds();
                final long secondBytes = kvBytes(system, 2) - firstBytes;
                assertEquals(java.util.Arrays.toString(first), java.util.Arrays.toString(second));
                answers[run] = java.util.Arrays.toString(second);
                if (caching) {
                    assertTrue(secondBytes > 0 && secondBytes < firstBytes / 2, "the second transfer moved "
                            + secondBytes + " bytes, the first " + firstBytes);
                    assertEquals(0, Metrics.parse(system.router().metricsText().get()).count(
                            "splitserve_kv_prefix_resends_total", "node", "1", "role", "prefill"), "none sent again");
                    Await.until("the decode node to report the tokens it took from its cache",
                            () -> Metrics.parse(system.router().metricsText().get()).count(
                                    "splitserve_prefix_cache_hit_tokens_total", "node", "101", "role", "decode") > 0);
                } else {
                    assertEquals(firstBytes, secondBytes, "without the cache every transfer is whole");
                }
            }
        }
        assertEquals(answers[1], answers[0], "the cache changes no token");
    }

    /** The KV bytes moved once {@code transfers} transfers were reported done. */
    private static long kvBytes(ServingSystem system, int transfers) throws Exception {
        Await.until(transfers + " KV transfers to be reported", () -> Metrics.parse(system.router().metricsText().get())
                .count("splitserve_kv_transfers_ok_total") >= transfers);
        return Metrics.parse(system.router().metricsText().get()).count("splitserve_kv_transfer_bytes_total");
    }

    private static long hitTokens(ServingSystem system) throws Exception {
        return Metrics.parse(system.router().metricsText().get()).count("splitserve_prefix_cache_hit_tokens_total",
                "node", "101", "role", "prefill_and_decode");
    }

    @Test
    void repeatedPromptIsPlacedByItsPrefixOnlyWithPrefixCaching() throws Exception {
        final Metrics on = twice(true);
        assertEquals(1, on.count("splitserve_placements_total", "policy", "load"), "the first: nothing cached");
        assertEquals(1, on.count("splitserve_placements_total", "policy", "prefix"), "the second: its prefix");
        final long matched = on.count("splitserve_placement_prefix_tokens_total");
        assertTrue(matched >= 16 && matched % 16 == 0, "whole pages of the prompt were matched: " + matched);

        final Metrics off = twice(false);
        assertEquals(2, off.count("splitserve_placements_total", "policy", "load"));
        assertEquals(0, off.count("splitserve_placements_total", "policy", "prefix"));
        assertEquals(0, off.count("splitserve_placement_prefix_tokens_total"));
    }
}
