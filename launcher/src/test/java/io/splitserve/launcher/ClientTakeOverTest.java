package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.client.ClientContext;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.SplitServeException;
import io.splitserve.client.Token;
import io.splitserve.client.TokenListener;
import io.splitserve.model.SamplingParams;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The soak's lost request, in one JVM: a client object sends a request and is gone (its media driver died with the
 * router), the router restarts on its journal, and a new client object with the same client id takes the request over
 * ({@link ClientContext#resume}). Its listener gets the rest of the stream an uninterrupted run gives and one end; a
 * request the router never held is served whole when the client saw nothing of it, and answered with exactly one
 * ROUTER_RESTARTED error when the client had tokens of it. Every event is kept in a list, so a duplicate shows.
 */
@Timeout(180)
class ClientTakeOverTest {
    private static final long CLIENT_ID = 5151;
    private static final String PROMPT = "Once upon a time";
    private static final int TOKENS = 1000;

    /** Every event of one request, in arrival order: tokens, then an ending (a last token or an error). */
    private static final class Events implements TokenListener {
        final List<Token> tokens = new CopyOnWriteArrayList<>();
        final List<SplitServeException> errors = new CopyOnWriteArrayList<>();

        @Override
        public void onToken(Token token) {
            tokens.add(token);
        }

        @Override
        public void onError(SplitServeException error) {
            errors.add(error);
        }

        boolean ended() {
            return !errors.isEmpty() || (!tokens.isEmpty() && tokens.get(tokens.size() - 1).isLast());
        }
    }

    /** Greedy, ignoring EOS as the reference does, so every run has exactly {@code tokens} tokens. */
    private static GenerateOptions ignoringEos(int tokens) {
        return new GenerateOptions("", PROMPT, false, tokens, 0f, 1f, 0, 0, List.of(), true);
    }

    private static ServingSystem start() throws Exception {
        final Path journal = Files.createDirectories(Path.of("target", "journal-" + System.nanoTime())
                .toAbsolutePath());
        return ServingSystem.start(TestSystems.options("take-over").routerSettings(ctx -> ctx.journalDir(journal)));
    }

    @Test
    void aRequestRunningWhenItsClientAndRouterWentIsContinuedForTheClientThatTakesItOver() throws Exception {
        final GenerateOptions options = ignoringEos(TOKENS);
        final int[] expected = Reference.generate(TestSystems.demoModel(), PROMPT, TOKENS, false,
                SamplingParams.greedy()).tokens();
        final Events first = new Events();
        final Events taken = new Events();
        try (ServingSystem system = start()) {
            final long requestId;
            try (SplitServeClient gone = SplitServeClient.connect(new ClientContext().clientId(CLIENT_ID),
                    system.aeron())) {
                requestId = gone.submit(options, first);
                Await.until("five tokens", () -> first.tokens.size() >= 5);
            } // the soak closes its client here: its driver is the router's, which the fault kills
            final int had = first.tokens.size();
            system.restartRouter();
            try (SplitServeClient client = SplitServeClient.connect(new ClientContext().clientId(CLIENT_ID)
                    .resume(requestId, options, had, taken), system.aeron())) {
                Await.until("the taken-over request's end", taken::ended);
                assertEquals(1.0, Metrics.parse(system.router().metricsText().get()).value(
                        "splitserve_requests_recovered_total"), "the new router continued the request");
            }
            assertEquals(List.of(), taken.errors);
            final int[] ids = new int[had + taken.tokens.size()];
            for (int i = 0; i < had; i++) {
                ids[i] = first.tokens.get(i).tokenId();
            }
            for (int i = 0; i < taken.tokens.size(); i++) {
                assertEquals(had + i, taken.tokens.get(i).index(), "each index once, in order, from where it stood");
                ids[had + i] = taken.tokens.get(i).tokenId();
            }
            assertArrayEquals(expected, ids, "the two client objects' streams make one uninterrupted run");
            assertEquals(FinishReason.LENGTH, taken.tokens.get(taken.tokens.size() - 1).finish());
        }
    }

    @Test
    void aRequestTheRouterNeverHeldIsServedWholeWhenItsClientSawNothingOfItAndFailsOnceOtherwise() throws Exception {
        final int[] expected = Reference.generate(TestSystems.demoModel(), PROMPT, 12, false,
                SamplingParams.greedy()).tokens();
        final Events unseen = new Events();
        final Events halfSeen = new Events();
        final List<SplitServeException> reports = new CopyOnWriteArrayList<>();
        try (ServingSystem system = start();
             SplitServeClient client = SplitServeClient.connect(new ClientContext().clientId(CLIENT_ID)
                     .earlierSessionFailures((id, error) -> reports.add(error))
                     .resume(77, ignoringEos(12), 0, unseen)
                     .resume(78, ignoringEos(12), 3, halfSeen), system.aeron())) {
            Await.until("both ends", () -> unseen.ended() && halfSeen.ended());
            // anything more about either would come on the same ordered stream before this request's tokens
            assertEquals(2, client.generate(GenerateOptions.greedy("after the take-over", 2)).completionTokens());
            assertEquals(List.of(), unseen.errors);
            assertArrayEquals(expected, unseen.tokens.stream().mapToInt(Token::tokenId).toArray());
            assertEquals(List.of(), halfSeen.tokens);
            assertEquals(1, halfSeen.errors.size(), "one error: " + halfSeen.errors);
            assertEquals(ErrorCode.ROUTER_RESTARTED, halfSeen.errors.get(0).code());
            assertTrue(halfSeen.errors.get(0).getMessage().contains("already has 3 tokens"),
                    halfSeen.errors.get(0).getMessage());
            assertEquals(List.of(), reports, "nothing reported as an unknown earlier request");
        }
    }
}
