package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.demo.DemoModel;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A router restart over a journal with unfinished requests: the Aeron client that says hello again hears
 * ROUTER_RESTARTED for each of its requests, once; HTTP requests and other clients' requests are not reported to it;
 * afterwards the journal holds nothing unfinished.
 */
class RestartedRequestsTest {
    /** Records errors as the client would see them. */
    private static final class RecordingEgress implements ClientEgress {
        final List<String> errors = new ArrayList<>();

        @Override
        public boolean token(long clientId, long requestId, int index, int tokenId, String text, FinishReason finish,
                             long epochNanos, int promptTokens) {
            throw new AssertionError("no tokens after a restart");
        }

        @Override
        public boolean error(long clientId, long requestId, ErrorCode code, String message) {
            errors.add(clientId + ":" + requestId + " " + code + " " + message);
            return true;
        }
    }

    @Test
    void reconnectingClientHearsRouterRestartedForItsUnfinishedRequests(@TempDir Path journalDir) throws Exception {
        final ServedModel model = ServedModel.load(DemoModel.ensure(Path.of("target", "test-models",
                DemoModel.VERSION).toAbsolutePath()), "demo");
        final ValidatedRequest v = new ValidatedRequest(new int[] {1, 2, 3}, 4, 0f, 1f, 0, 0, List.of(), new int[0]);
        try (RequestJournal before = new RequestJournal(journalDir)) {
            before.accepted(new RouterRequest(1, 7, 42, v, new RecordingListener(), model.tokenizer(), 4, 0));
            before.accepted(new RouterRequest(2, 7, 43, v, new RecordingListener(), model.tokenizer(), 4, 0));
            before.accepted(new RouterRequest(3, 7, 44, v, new RecordingListener(), model.tokenizer(), 4, 0));
            before.completed(3, "length");
            before.accepted(new RouterRequest(4, 0, 0, v, new RecordingListener(), model.tokenizer(), 4, 0)); // HTTP
            before.accepted(new RouterRequest(5, 8, 1, v, new RecordingListener(), model.tokenizer(), 4, 0));
        }
        final RouterMetrics metrics = new RouterMetrics();
        final RecordingEgress egress = new RecordingEgress();
        try (RequestJournal after = new RequestJournal(journalDir)) {
            final RestartedRequests restarted = new RestartedRequests(after, metrics);
            assertEquals(2, restarted.clientsWaiting(), "clients 7 and 8; the HTTP request is closed at once");
            assertEquals(0, restarted.onClientHello(9, egress));
            assertEquals(2, restarted.onClientHello(7, egress));
            assertEquals(List.of(
                    "7:42 ROUTER_RESTARTED the router restarted before request 42 completed; it was not run to the end,"
                            + " submit it again",
                    "7:43 ROUTER_RESTARTED the router restarted before request 43 completed; it was not run to the end,"
                            + " submit it again"), egress.errors);
            assertEquals(0, restarted.onClientHello(7, egress), "reported once");
            assertEquals(2, metrics.rejected.get(ErrorCode.ROUTER_RESTARTED)[0]);
            assertEquals(5, after.highestRouterId());
        }
        try (RequestJournal later = new RequestJournal(journalDir)) {
            assertEquals(List.of(new RequestJournal.Unfinished(5, 8, 1)), later.unfinished(),
                    "only client 8's request, whose client has not said hello, is still open");
            assertTrue(new RestartedRequests(later, metrics).clientsWaiting() == 1);
        }
    }
}
