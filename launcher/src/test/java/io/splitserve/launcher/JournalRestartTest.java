package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The router's Chronicle Queue journal across a restart: a request accepted and not completed when the router
 * stopped is reported ROUTER_RESTARTED to its client when that client id connects to the new router, exactly once;
 * a completed request is not reported.
 */
@Timeout(120)
class JournalRestartTest {
    private static final long CLIENT_ID = 4242;

    private static ServingSystem start(Path journal) throws Exception {
        return ServingSystem.start(TestSystems.options("journal").routerSettings(ctx -> ctx.journalDir(journal)));
    }

    private static ClientContext client(Map<Long, SplitServeException> failures) {
        return new ClientContext().clientId(CLIENT_ID).earlierSessionFailures(failures::put);
    }

    @Test
    void unfinishedRequestsAreReportedAfterARestartNeverDropped() throws Exception {
        final Path journal = Files.createDirectories(Path.of("target", "journal-" + System.nanoTime()).toAbsolutePath());
        final long finished;
        final long unfinished;
        try (ServingSystem first = start(journal);
             SplitServeClient client = SplitServeClient.connect(client(new ConcurrentHashMap<>()), first.aeron())) {
            try (TokenStream done = client.stream(GenerateOptions.greedy("short one", 3))) {
                finished = done.requestId();
                while (done.hasNext()) {
                    done.next();
                }
            }
            final TokenStream running = client.stream(new GenerateOptions("", "long one", false, 1000, 0f, 1f, 0, 0,
                    List.of(), true));
            unfinished = running.requestId();
            assertEquals(FinishReason.NONE, running.next().finish());
        } // the router stops with the long request still running

        final Map<Long, SplitServeException> failures = new ConcurrentHashMap<>();
        try (ServingSystem second = start(journal);
             SplitServeClient client = SplitServeClient.connect(client(failures), second.aeron())) {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (failures.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            final SplitServeException e = failures.get(unfinished);
            assertNotNull(e, "the unfinished request is reported: " + failures);
            assertEquals(ErrorCode.ROUTER_RESTARTED, e.code());
            assertTrue(e.getMessage().contains("request " + unfinished), e.getMessage());
            assertEquals(1, failures.size(), "the completed request " + finished + " is not reported");
            assertEquals(3, client.generate(GenerateOptions.greedy("the new router serves", 3)).completionTokens());
        }

        final Map<Long, SplitServeException> again = new ConcurrentHashMap<>();
        try (ServingSystem third = start(journal);
             SplitServeClient client = SplitServeClient.connect(client(again), third.aeron())) {
            client.generate(GenerateOptions.greedy("after the report", 2));
            assertTrue(again.isEmpty(), "a reported request was journaled as completed: " + again);
        }
    }
}
