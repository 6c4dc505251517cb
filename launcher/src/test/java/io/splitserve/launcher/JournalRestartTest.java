package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.client.ClientContext;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.SplitServeException;
import io.splitserve.client.Token;
import io.splitserve.client.TokenStream;
import io.splitserve.model.SamplingParams;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import net.openhft.chronicle.queue.ChronicleQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The router's journal across a restart in one JVM (the router's agent stops with requests running and a new one
 * reads the same journal; nodes, driver and client stay): a request running when the router stopped is continued for
 * the client, which said hello to the new router, and the client sees the stream an uninterrupted run gives, token
 * for token, greedy and seeded, each index once; a request whose journal entry is damaged fails with one explicit
 * ROUTER_RESTARTED error, once. Every event is kept in a list (not a map), so a duplicate shows.
 */
@Timeout(180)
class JournalRestartTest {
    private static final long CLIENT_ID = 4242;
    private static final String PROMPT = "Once upon a time";
    private static final int TOKENS = 160;

    private static ServingSystem start(Path journal) throws Exception {
        return ServingSystem.start(TestSystems.options("journal").routerSettings(ctx -> ctx.journalDir(journal)));
    }

    private static Path journalDir() throws Exception {
        return Files.createDirectories(Path.of("target", "journal-" + System.nanoTime()).toAbsolutePath());
    }

    @Test
    void aGreedyRequestContinuesAcrossARouterRestartTokenForToken() throws Exception {
        continuesAcrossARestart(0f, 0);
    }

    @Test
    void aSeededSampledRequestContinuesAcrossARouterRestartTokenForToken() throws Exception {
        continuesAcrossARestart(0.9f, 20_240_607L);
    }

    private static void continuesAcrossARestart(float temperature, long seed) throws Exception {
        final int[] expected = Reference.generate(TestSystems.demoModel(), PROMPT, TOKENS, false,
                new SamplingParams(temperature, 0, 1, 0, seed)).tokens();
        final List<Token> received = new ArrayList<>();
        try (ServingSystem system = start(journalDir());
             SplitServeClient client = SplitServeClient.connect(new ClientContext().clientId(CLIENT_ID),
                     system.aeron());
             TokenStream stream = client.stream(new GenerateOptions("", PROMPT, false, TOKENS, temperature, 1f, 0,
                     seed, List.of(), true))) {
            for (int i = 0; i < 5; i++) {
                received.add(stream.next());
            }
            system.restartRouter(); // mid-generation: the request cannot have finished within 5 of 160 tokens
            while (stream.hasNext()) {
                received.add(stream.next());
            }
            assertEquals(1.0, Metrics.parse(system.router().metricsText().get()).value(
                    "splitserve_requests_recovered_total"), "the new router continued the request");
        }
        final int[] ids = new int[received.size()];
        for (int i = 0; i < received.size(); i++) {
            assertEquals(i, received.get(i).index(), "each index once, in order");
            ids[i] = received.get(i).tokenId();
        }
        assertArrayEquals(expected, ids, "the stream equals an uninterrupted run");
        assertEquals(FinishReason.LENGTH, received.get(received.size() - 1).finish());
    }

    @Test
    void aRequestWhoseJournalEntryIsDamagedFailsWithOneExplicitError() throws Exception {
        final Path journal = journalDir();
        try (ChronicleQueue queue = ChronicleQueue.singleBuilder(journal).build()) {
            queue.createAppender().writeText("A 1 " + CLIENT_ID + " 77 8 0.0 1.0 0 0 5,6  ");
            queue.createAppender().writeText("D 1 0 9");
            queue.createAppender().writeText("D 1 3 9"); // tokens 1 and 2 missing
        }
        record Report(long requestId, SplitServeException error) { }
        final List<Report> reports = new CopyOnWriteArrayList<>();
        final ClientContext ctx = new ClientContext().clientId(CLIENT_ID)
                .earlierSessionFailures((requestId, error) -> reports.add(new Report(requestId, error)));
        try (ServingSystem system = start(journal);
             SplitServeClient client = SplitServeClient.connect(ctx, system.aeron())) {
            // the report is sent at the hello, before the router reads this request from the same ordered stream,
            // and comes back on the one stream that carries this request's tokens: it has arrived once this ends
            assertEquals(3, client.generate(GenerateOptions.greedy("the new router serves", 3)).completionTokens());
            assertEquals(1, reports.size(), "one error: " + reports);
            assertEquals(77, reports.get(0).requestId());
            assertEquals(ErrorCode.ROUTER_RESTARTED, reports.get(0).error().code());
            assertTrue(reports.get(0).error().getMessage().contains("its journal entry is damaged: its journal holds"
                    + " tokens from index 3 after only 1 delivered tokens"), reports.get(0).error().getMessage());
        }
        reports.clear();
        try (ServingSystem again = start(journal);
             SplitServeClient client = SplitServeClient.connect(ctx, again.aeron())) {
            client.generate(GenerateOptions.greedy("after the report", 2));
            assertTrue(reports.isEmpty(), "a reported request was journaled as completed: " + reports);
        }
    }
}
