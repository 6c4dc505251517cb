package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.client.ClientContext;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.SplitServeException;
import io.splitserve.client.TokenStream;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The router's Chronicle Queue journal across a restart: each request accepted and not completed when the router
 * stopped is reported ROUTER_RESTARTED to its client when that client id connects to the new router, exactly once;
 * a completed request is not reported.
 *
 * <p>Every report is kept (a list, not a map keyed by request id), so a duplicate shows. Reports are sent when the
 * router hears the client's hello, before it reads the client's next request from the same ordered stream, and they
 * come back on the one stream that carries that request's tokens: once a request on the new router has completed,
 * every report has arrived, with no waiting for a time window.
 */
@Timeout(120)
class JournalRestartTest {
    private static final long CLIENT_ID = 4242;

    private static ServingSystem start(Path journal) throws Exception {
        return ServingSystem.start(TestSystems.options("journal").routerSettings(ctx -> ctx.journalDir(journal)));
    }

    /** One report of an earlier session's request. */
    private record Report(long requestId, SplitServeException error) { }

    private static ClientContext client(List<Report> reports) {
        return new ClientContext().clientId(CLIENT_ID)
                .earlierSessionFailures((requestId, error) -> reports.add(new Report(requestId, error)));
    }

    private static TokenStream startLongRequest(SplitServeClient client, String prompt) {
        final TokenStream running = client.stream(new GenerateOptions("", prompt, false, 1000, 0f, 1f, 0, 0,
                List.of(), true));
        assertEquals(FinishReason.NONE, running.next().finish(), "it is running");
        return running;
    }

    @Test
    void unfinishedRequestsAreReportedAfterARestartNeverDropped() throws Exception {
        final Path journal = Files.createDirectories(Path.of("target", "journal-" + System.nanoTime()).toAbsolutePath());
        final long finished;
        final Set<Long> unfinished = new HashSet<>();
        try (ServingSystem first = start(journal);
             SplitServeClient client = SplitServeClient.connect(client(new CopyOnWriteArrayList<>()), first.aeron())) {
            try (TokenStream done = client.stream(GenerateOptions.greedy("short one", 3))) {
                finished = done.requestId();
                while (done.hasNext()) {
                    done.next();
                }
            }
            unfinished.add(startLongRequest(client, "long one").requestId());
            unfinished.add(startLongRequest(client, "another long one").requestId());
        } // the router stops with both long requests still running

        final List<Report> reports = new CopyOnWriteArrayList<>();
        try (ServingSystem second = start(journal);
             SplitServeClient client = SplitServeClient.connect(client(reports), second.aeron())) {
            assertEquals(3, client.generate(GenerateOptions.greedy("the new router serves", 3)).completionTokens());
            // every report came before this completion on the same stream (see the class comment)
            final Map<Long, Long> perRequest = new HashMap<>();
            for (Report r : reports) {
                assertEquals(ErrorCode.ROUTER_RESTARTED, r.error().code(), r.error().getMessage());
                assertTrue(r.error().getMessage().contains("request " + r.requestId()), r.error().getMessage());
                perRequest.merge(r.requestId(), 1L, Long::sum);
            }
            assertEquals(unfinished, perRequest.keySet(), "exactly the unfinished requests are reported, not "
                    + finished + " which completed");
            perRequest.forEach((id, count) -> assertEquals(1L, count, "request " + id + " is reported once"));
        }

        final List<Report> again = new CopyOnWriteArrayList<>();
        try (ServingSystem third = start(journal);
             SplitServeClient client = SplitServeClient.connect(client(again), third.aeron())) {
            client.generate(GenerateOptions.greedy("after the report", 2));
            assertTrue(again.isEmpty(), "a reported request was journaled as completed: " + again);
        }
    }
}
