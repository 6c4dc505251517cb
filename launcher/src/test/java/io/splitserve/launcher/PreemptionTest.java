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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A decode node that runs out of KV pages mid-generation (the router overcommits it) preempts its newest sequence
 * instead of failing; the router re-queues that request as prompt + tokens so far, and both streams still deliver
 * exactly the tokens {@code generate} gives, in order, with no gap or duplicate.
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
            final String metrics = system.router().metricsText().get(5, TimeUnit.SECONDS);
            final Matcher preemptions = Pattern.compile("splitserve_preemptions_total (\\d+)").matcher(metrics);
            assertTrue(preemptions.find() && Long.parseLong(preemptions.group(1)) > 0,
                    "12 pages of 4 tokens cannot hold both sequences to the end:\n" + metrics);
            final DecodeNodeAgent decode = system.decodeAgents().get(0);
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (decode.freePages() != decode.totalPages() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(decode.totalPages(), decode.freePages());
        }
    }
}
