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
 * placement goes by load.
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
