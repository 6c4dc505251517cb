package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.client.ClientContext;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.SplitServeException;
import io.splitserve.client.Token;
import io.splitserve.client.TokenStream;
import io.splitserve.decode.DecodeNodeAgent;
import io.splitserve.engine.generate.GenerationResult;
import io.splitserve.sbe.ErrorCode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Nodes failing under load (one JVM, IPC; a node is "killed" by stopping its agent, so it falls silent): a decode
 * node's requests move to another decode node and their streams continue with no gap or duplicate (greedy output
 * still equals {@code generate}); with one decode node the client gets NODE_FAILED; a prefill node's queued requests
 * go to another prefill node. The router's metrics show each retry happened; waits poll for a condition, bounded only
 * by the class timeout.
 */
@Timeout(120)
class FailoverTest {
    private static final long HEARTBEAT_TIMEOUT_NS = TimeUnit.MILLISECONDS.toNanos(300);

    private static List<Integer> drain(TokenStream stream, List<Integer> ids) {
        while (stream.hasNext()) {
            final Token t = stream.next();
            assertEquals(ids.size(), t.index(), "no gap, no duplicate");
            ids.add(t.tokenId());
        }
        return ids;
    }

    @Test
    void killedDecodeNodesRequestsContinueOnAnother() throws Exception {
        final Path demo = TestSystems.demoModel();
        final int max = 120;
        try (ServingSystem system = ServingSystem.start(TestSystems.options("decode-failover").decodeNodes(2)
                .heartbeatTimeoutNs(HEARTBEAT_TIMEOUT_NS));
             SplitServeClient client = SplitServeClient.connect(new ClientContext(), system.aeron())) {
            final TokenStream stream = client.stream(new GenerateOptions("", "A long story begins", false, max, 0f, 1f,
                    0, 0, List.of(), true));
            final List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                final Token t = stream.next();
                assertEquals(i, t.index());
                ids.add(t.tokenId());
            }
            final int busy = busyDecodeNode(system.decodeAgents());
            system.killNode(1 + busy); // node runners: prefill node first, then the decode nodes
            drain(stream, ids);
            final GenerationResult expected = ignoringEos(demo, "A long story begins", max);
            assertArrayEquals(expected.tokens(), ids.stream().mapToInt(Integer::intValue).toArray(),
                    "the stream continued on the other decode node exactly where it stopped");
            final String metrics = system.router().metricsText().get();
            assertEquals(2, metric(metrics, "splitserve_kv_transfers_ok_total"),
                    "prompt + tokens so far were prefilled again for the other decode node:\n" + metrics);
            assertEquals(1, metric(metrics, "splitserve_attempt_retries_total{reason=\"decode_node_failed\"}"));
        }
    }

    @Test
    void killedOnlyDecodeNodeGivesAnExplicitError() throws Exception {
        try (ServingSystem system = ServingSystem.start(TestSystems.options("decode-alone")
                .heartbeatTimeoutNs(HEARTBEAT_TIMEOUT_NS));
             SplitServeClient client = SplitServeClient.connect(new ClientContext(), system.aeron())) {
            final TokenStream stream = client.stream(new GenerateOptions("", "A long story begins", false, 400, 0f, 1f,
                    0, 0, List.of(), true));
            final List<Integer> ids = new ArrayList<>(List.of(stream.next().tokenId()));
            system.killNode(1);
            final SplitServeException e = assertThrows(SplitServeException.class, () -> drain(stream, ids));
            assertEquals(ErrorCode.NODE_FAILED, e.code());
            assertTrue(e.getMessage().contains("no other decode node is available"), e.getMessage());
        }
    }

    @Test
    void killedPrefillNodesQueuedRequestsGoToAnother() throws Exception {
        final Path demo = TestSystems.demoModel();
        // Prompts of a couple of hundred tokens, one per prefill batch: each node needs a while for its share, so the
        // first node still holds unfinished prefills when it is killed. A node sends no heartbeat during a prefill,
        // so the heartbeat timeout must outlast a few of them on a busy machine.
        try (ServingSystem system = ServingSystem.start(TestSystems.options("prefill-failover").prefillNodes(2)
                .prefillTokenBudget(8).heartbeatTimeoutNs(TimeUnit.SECONDS.toNanos(3)));
             SplitServeClient client = SplitServeClient.connect(new ClientContext(), system.aeron())) {
            final String[] prompts = new String[6];
            final List<TokenStream> streams = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                prompts[i] = ("Request number " + i + " tells a tale of the sea and the wind. ").repeat(12);
                streams.add(client.stream(GenerateOptions.greedy(prompts[i], 6)));
            }
            final String pendingOnNode1 = "splitserve_node_pending_prompt_tokens{node=\"1\",role=\"prefill\"}";
            while (metric(system.router().metricsText().get(), pendingOnNode1) == 0) {
                Thread.sleep(1); // until the router has placed prompts on prefill node 1
            }
            system.killNode(0); // prefill node 1 dies with its share of the prompts unfinished
            for (int i = 0; i < prompts.length; i++) {
                final List<Integer> ids = drain(streams.get(i), new ArrayList<>());
                assertArrayEquals(Reference.generate(demo, prompts[i], 6).tokens(),
                        ids.stream().mapToInt(Integer::intValue).toArray(), prompts[i]);
            }
            final String metrics = system.router().metricsText().get();
            assertTrue(metric(metrics, "splitserve_attempt_retries_total{reason=\"prefill_node_failed\"}") >= 1,
                    "a prompt that was on the killed node was placed again:\n" + metrics);
            assertEquals(0, metric(metrics, "splitserve_attempt_retries_total{reason=\"decode_node_failed\"}"));
        }
    }

    /** The value of one metric series in Prometheus text, read whole (so 2 never matches 20). */
    static long metric(String metrics, String series) {
        final Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\d+)$", Pattern.MULTILINE).matcher(metrics);
        assertTrue(m.find(), series + " is missing from\n" + metrics);
        return Long.parseLong(m.group(1));
    }

    private static int busyDecodeNode(List<DecodeNodeAgent> agents) {
        for (int i = 0; i < agents.size(); i++) {
            if (agents.get(i).freePages() < agents.get(i).totalPages()) {
                return i;
            }
        }
        throw new AssertionError("no decode node holds the request");
    }

    private static GenerationResult ignoringEos(Path demo, String prompt, int max) throws Exception {
        return Reference.generate(demo, prompt, max, false);
    }
}
