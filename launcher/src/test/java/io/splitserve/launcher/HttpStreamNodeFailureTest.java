package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitserve.router.HttpShim;
import io.splitserve.router.HttpShimContext;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A streamed {@code /v1/chat/completions} whose only decode node dies mid-stream. What the client sees: the 200
 * response and the chunks already streamed (role, then content deltas, none with a finish_reason), then one SSE event
 * {@code {"error": {"message", "type": "server_error", "code": "node_failed"}}}, then {@code data: [DONE]}, and the
 * response body ends: neither a hang nor a stream that stops as if it had finished normally.
 */
@Timeout(120)
class HttpStreamNodeFailureTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Short, so the router gives up on the silent node long before the shim's idle timeout ends the stream. */
    private static final long HEARTBEAT_TIMEOUT_NS = TimeUnit.MILLISECONDS.toNanos(300);

    @Test
    void theOnlyDecodeNodeDyingMidStreamEndsTheStreamWithAnErrorEvent() throws Exception {
        try (ServingSystem system = ServingSystem.start(TestSystems.options("sse-node-failure")
                .heartbeatTimeoutNs(HEARTBEAT_TIMEOUT_NS));
             HttpShim shim = new HttpShim(system.router(), new HttpShimContext().port(0))) {
            final HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + shim.port()
                    + "/v1/chat/completions")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"messages\":[{\"role\":\"user\",\"content\":"
                            + "\"Tell a long story\"}],\"max_tokens\":400,\"temperature\":0,\"ignore_eos\":true,"
                            + "\"stream\":true}")).build();
            final HttpResponse<Stream<String>> response = HttpClient.newHttpClient().send(request,
                    HttpResponse.BodyHandlers.ofLines());
            assertEquals(200, response.statusCode());
            assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));

            final List<String> events = new ArrayList<>();
            try (Stream<String> lines = response.body()) {
                final Iterator<String> it = lines.iterator();
                boolean killed = false;
                while (it.hasNext()) { // ends only when the server ends the response
                    final String line = it.next();
                    if (line.isEmpty()) {
                        continue;
                    }
                    assertTrue(line.startsWith("data: "), "every SSE event is a data line: " + line);
                    final String data = line.substring("data: ".length());
                    events.add(data);
                    if (!killed && !data.equals("[DONE]")
                            && JSON.readTree(data).path("choices").path(0).path("delta").has("content")) {
                        system.killNode(1); // node runners: the prefill node, then the decode node
                        killed = true;
                    }
                }
                assertTrue(killed, "content was streamed before the decode node died: " + events);
            }

            assertEquals("[DONE]", events.get(events.size() - 1), "the stream still ends with data: [DONE]");
            final JsonNode error = JSON.readTree(events.get(events.size() - 2)).get("error");
            assertTrue(error != null, "the event before [DONE] is an error: " + events);
            assertEquals("node_failed", error.get("code").asText());
            assertEquals("server_error", error.get("type").asText());
            assertTrue(error.get("message").asText().contains("no other decode node is available"),
                    error.get("message").asText());
            for (String data : events.subList(0, events.size() - 2)) {
                final JsonNode choice = JSON.readTree(data).get("choices").get(0);
                assertTrue(choice.get("finish_reason").isNull(), "no chunk claims a normal finish: " + data);
            }
            assertFalse(events.subList(0, events.size() - 2).stream().anyMatch(d -> d.contains("\"error\"")),
                    "one error event");
        }
    }
}
