package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.client.ClientContext;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.Token;
import io.splitserve.client.TokenStream;
import io.splitserve.decode.DecodeNodeAgent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A decode node that runs out of KV pages mid-generation (the router overcommits it) preempts its newest sequence
 * instead of failing; the router re-queues that request as prompt + tokens so far, and both streams still deliver
 * exactly the tokens {@code generate} gives, in order, with no gap or duplicate; every preemption is counted as a
 * retry, and the decode node ends with every page free (waited for by polling, bounded only by the class timeout).
 */
@Timeout(120)
class PreemptionTest {
    @Test
    void preemptedRequestIsRequeuedAndItsStreamContinues() throws Exception {
        final Path demo = TestSystems.demoModel();
        final int max = 30;
        try (ServingSystem system = ServingSystem.start(TestSystems.options("preemption").pageSize(4).decodePages(12)
                .routerSettings(ctx -> ctx.kvOvercommit(2.0)));
             SplitServeClient client = SplitServeClient.connect(new ClientContext(), system.aeron())) {
            final String[] prompts = {"The old lighthouse", "A quiet river"};
            final List<TokenStream> streams = new ArrayList<>();
            for (String p : prompts) {
                streams.add(client.stream(new GenerateOptions("", p, false, max, 0f, 1f, 0, 0, List.of(), true)));
            }
            for (int i = 0; i < prompts.length; i++) {
                final List<Integer> ids = new ArrayList<>();
                final TokenStream stream = streams.get(i);
                while (stream.hasNext()) {
                    final Token t = stream.next();
                    assertEquals(ids.size(), t.index(), "no gap, no duplicate");
                    ids.add(t.tokenId());
                }
                assertArrayEquals(Reference.generate(demo, prompts[i], max, false).tokens(),
                        ids.stream().mapToInt(Integer::intValue).toArray(), prompts[i]);
            }
            final String metrics = system.router().metricsText().get();
            final long preemptions = metric(metrics, "splitserve_preemptions_total");
            assertTrue(preemptions > 0, "12 pages of 4 tokens cannot hold both sequences to the end:\n" + metrics);
            assertEquals(preemptions, metric(metrics, "splitserve_attempt_retries_total{reason=\"preempted\"}"),
                    "each preemption re-queued its request once:\n" + metrics);
            final DecodeNodeAgent decode = system.decodeAgents().get(0);
            while (decode.freePages() != decode.totalPages()) {
                Thread.sleep(1); // the router's cancels of the finished sequences are still on their way
            }
            assertEquals(decode.totalPages(), decode.freePages());
        }
    }

    /** The value of one metric series in Prometheus text, read whole (so 2 never matches 20). */
    private static long metric(String metrics, String series) {
        final Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\d+)$", Pattern.MULTILINE).matcher(metrics);
        assertTrue(m.find(), series + " is missing from\n" + metrics);
        return Long.parseLong(m.group(1));
    }
}
