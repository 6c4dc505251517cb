package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitserve.engine.generate.GenerationResult;
import io.splitserve.router.HttpShim;
import io.splitserve.router.HttpShimContext;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.concurrent.TimeUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The OpenAI-compatible HTTP shim through a real HTTP client: completions and chat, streamed (the openai wire format
 * of SSE chunks ending in [DONE]) and whole, usage, models, health, metrics, and every bad input's status and message.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class HttpShimTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "sk-test-key";

    Path demo;
    ServingSystem system;
    HttpShim http;
    final HttpClient client = HttpClient.newHttpClient();

    @BeforeAll
    void start() throws Exception {
        demo = TestSystems.demoModel();
        system = ServingSystem.start(TestSystems.options("http").modelName("demo")
                .routerSettings(ctx -> ctx.maxInputLength(64)));
        http = new HttpShim(system.router(), new HttpShimContext().port(0).apiKey(KEY).maxBodyBytes(4096));
    }

    @AfterAll
    void stop() {
        if (http != null) {
            http.close();
        }
        if (system != null) {
            system.close();
        }
    }

    private HttpResponse<String> post(String path, String body, String key) throws Exception {
        final HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + path))
                .header("Authorization", "Bearer " + KEY).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void wholeCompletionEqualsGenerateWithUsage() throws Exception {
        final GenerationResult expected = Reference.generate(demo, "Once upon a time", 16);
        final HttpResponse<String> response = post("/v1/completions",
                "{\"model\":\"demo\",\"prompt\":\"Once upon a time\",\"max_tokens\":16,\"temperature\":0}", KEY);
        assertEquals(200, response.statusCode(), response.body());
        final JsonNode root = JSON.readTree(response.body());
        assertEquals("text_completion", root.get("object").asText());
        assertEquals(expected.text(), root.get("choices").get(0).get("text").asText());
        assertEquals(expected.finishReason().apiName(), root.get("choices").get(0).get("finish_reason").asText());
        assertEquals(expected.promptTokens().length, root.get("usage").get("prompt_tokens").asInt());
        assertEquals(expected.tokens().length, root.get("usage").get("completion_tokens").asInt());
        assertEquals(expected.promptTokens().length + expected.tokens().length, root.get("usage").get("total_tokens").asInt());
    }

    @Test
    void streamedCompletionFollowsTheOpenAiChunkFormat() throws Exception {
        final GenerationResult expected = Reference.generate(demo, "Once upon a time", 16);
        final HttpResponse<String> response = post("/v1/completions", "{\"model\":\"demo\",\"prompt\":\"Once upon a time\","
                + "\"max_tokens\":16,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}", KEY);
        assertEquals(200, response.statusCode(), response.body());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        final List<String> events = sseData(response.body());
        assertEquals("[DONE]", events.get(events.size() - 1), "the stream ends with data: [DONE]");
        final StringBuilder text = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (String data : events.subList(0, events.size() - 1)) {
            final JsonNode chunk = JSON.readTree(data);
            assertEquals("text_completion", chunk.get("object").asText());
            assertEquals("demo", chunk.get("model").asText());
            assertTrue(chunk.get("id").asText().startsWith("cmpl-"));
            if (chunk.get("choices").size() == 0) {
                usage = chunk.get("usage");
                continue;
            }
            final JsonNode choice = chunk.get("choices").get(0);
            assertNull(finish, "no chunk follows the one with a finish_reason, except usage");
            text.append(choice.get("text").asText());
            if (!choice.get("finish_reason").isNull()) {
                finish = choice.get("finish_reason").asText();
            }
        }
        assertEquals(expected.text(), text.toString());
        assertEquals(expected.finishReason().apiName(), finish);
        assertEquals(expected.tokens().length, usage.get("completion_tokens").asInt());
    }

    @Test
    void chatStreamsRoleThenContentDeltas() throws Exception {
        final HttpResponse<String> whole = post("/v1/chat/completions", "{\"model\":\"demo\",\"messages\":[{\"role\":"
                + "\"user\",\"content\":\"Hello there\"}],\"max_tokens\":12,\"temperature\":0}", KEY);
        assertEquals(200, whole.statusCode(), whole.body());
        final JsonNode message = JSON.readTree(whole.body()).get("choices").get(0).get("message");
        assertEquals("assistant", message.get("role").asText());
        final HttpResponse<String> streamed = post("/v1/chat/completions", "{\"model\":\"demo\",\"messages\":[{\"role\":"
                + "\"user\",\"content\":\"Hello there\"}],\"max_tokens\":12,\"temperature\":0,\"stream\":true}", KEY);
        final List<String> events = sseData(streamed.body());
        final JsonNode first = JSON.readTree(events.get(0));
        assertEquals("chat.completion.chunk", first.get("object").asText());
        assertEquals("assistant", first.get("choices").get(0).get("delta").get("role").asText());
        final StringBuilder content = new StringBuilder();
        for (String data : events.subList(1, events.size() - 1)) {
            final JsonNode delta = JSON.readTree(data).get("choices").get(0).get("delta");
            if (delta.has("content")) {
                content.append(delta.get("content").asText());
            }
        }
        assertEquals(message.get("content").asText(), content.toString(), "streamed and whole answers agree");
        assertEquals("[DONE]", events.get(events.size() - 1));
    }

    @Test
    void modelsHealthAndMetrics() throws Exception {
        final JsonNode models = JSON.readTree(get("/v1/models").body());
        assertEquals("demo", models.get("data").get(0).get("id").asText());
        final HttpResponse<String> health = get("/health");
        assertEquals(200, health.statusCode(), health.body());
        assertEquals("ok", JSON.readTree(health.body()).get("status").asText());
        post("/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":2}", KEY);
        final Metrics metrics = Metrics.parse(get("/metrics").body());
        assertEquals("counter", metrics.type("splitserve_requests_accepted_total"));
        assertTrue(metrics.count("splitserve_requests_accepted_total") >= 1);
        assertTrue(metrics.value("splitserve_time_to_first_token_seconds", "quantile", "0.5") > 0);
        assertTrue(metrics.value("splitserve_node_free_kv_pages", "node", "101", "role", "decode") > 0);
        assertTrue(metrics.count("splitserve_kv_transfer_bytes_total") > 0);
        assertEquals(0, metrics.count("splitserve_kv_transfers_failed_total"));
    }

    /** Each bad input's status and the words of its message. */
    @Test
    void badInputGetsAPreciseError() throws Exception {
        expectError(post("/v1/completions", "{\"prompt\": \"hi\",", KEY), 400, "malformed JSON");
        expectError(post("/v1/completions", "{\"model\":\"gpt-4\",\"prompt\":\"hi\"}", KEY), 404,
                "model 'gpt-4' does not exist");
        expectError(post("/v1/completions", "{\"prompt\":\"" + "word ".repeat(100) + "\"}", KEY), 400,
                "the limit is 64 (--max-input-length)");
        expectError(post("/v1/completions", "{\"prompt\":\"hi\",\"temperature\":-1}", KEY), 400,
                "temperature must be between 0 and 2");
        expectError(post("/v1/completions", "{\"prompt\":\"hi\",\"top_p\":0}", KEY), 400,
                "top_p must be greater than 0");
        expectError(post("/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":\"ten\"}", KEY), 400,
                "max_tokens must be an integer");
        expectError(post("/v1/completions", "{\"prompt\":\"hi\",\"temprature\":0.5}", KEY), 400,
                "unknown field 'temprature'");
        expectError(post("/v1/completions", "{\"prompt\":\"hi\",\"n\":2}", KEY), 400, "n other than 1 is not supported");
        expectError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}", KEY), 400,
                "message role must be system, user or assistant");
        expectError(post("/v1/completions", "{\"prompt\":\"" + "x".repeat(5000) + "\"}", KEY), 413,
                "exceeds the limit of 4096");
        expectError(post("/v1/completions", "{\"prompt\":\"hi\"}", "wrong-key"), 401, "invalid API key");
        expectError(post("/v1/completions", "{\"prompt\":\"hi\"}", null), 401, "missing API key");
        expectError(get("/v1/nothing"), 404, "no route GET /v1/nothing");
        expectError(get("/v1/completions"), 405, "accepts POST");
    }

    private static void expectError(HttpResponse<String> response, int status, String words) throws Exception {
        assertEquals(status, response.statusCode(), response.body());
        final String message = JSON.readTree(response.body()).get("error").get("message").asText();
        assertTrue(message.contains(words), message);
    }

    @Test
    void overloadIsAnsweredAtOnceWith429() throws Exception {
        // a router with no nodes: every request waits, so the queue bound (2) is reached at once
        try (ServingSystem idle = ServingSystem.start(TestSystems.options("overload").prefillNodes(0).decodeNodes(0)
                .routerSettings(ctx -> ctx.maxQueuedRequests(2)));
             HttpShim shim = new HttpShim(idle.router(), new HttpShimContext().port(0))) {
            final HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + shim.port()
                    + "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"hi\"}")).build();
            final List<CompletableFuture<HttpResponse<String>>> waiting = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                waiting.add(client.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
            }
            final HttpRequest metrics = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + shim.port()
                    + "/metrics")).build();
            Await.until("both requests queued", () -> Metrics.parse(client.send(metrics,
                    HttpResponse.BodyHandlers.ofString()).body()).count("splitserve_queue_depth") == 2);
            final HttpResponse<String> refused = client.send(request, HttpResponse.BodyHandlers.ofString());
            expectError(refused, 429, "2 requests are already waiting");
            assertEquals("1", refused.headers().firstValue("Retry-After").orElse(null), "every 429 says when to retry");
            // there is no node, so the queued two can never be answered: the refusal did not wait for the queue
            waiting.forEach(f -> assertFalse(f.isDone(), "a queued request stays queued"));
            assertEquals(503, client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + shim.port()
                    + "/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode(), "no node: unavailable");
            waiting.forEach(f -> f.cancel(true));
        }
    }

    /** Sends {@code head} and {@code body} bytes of a POST on a raw socket, the body possibly short of its length. */
    private static Socket rawPost(int port, String path, String body, int contentLength) throws Exception {
        final Socket socket = new Socket("127.0.0.1", port);
        final OutputStream out = socket.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + contentLength + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
        out.flush();
        return socket;
    }

    /** Reads from {@code in} until what was read contains {@code text} or the stream ends; returns what was read. */
    private static String readUntil(InputStream in, String text) throws Exception {
        final StringBuilder read = new StringBuilder();
        final byte[] buffer = new byte[512];
        int n;
        while (!read.toString().contains(text) && (n = in.read(buffer)) >= 0) {
            read.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
        }
        return read.toString();
    }

    /**
     * A body that stalls holds its slot (the next completion gets 429 with Retry-After) until the body read timeout:
     * then it gets 408 with Connection: close, its slot is free, and the next completion is served.
     */
    @Test
    void stalledUploadGets408AndFreesItsSlot() throws Exception {
        final List<String> log = Collections.synchronizedList(new ArrayList<>());
        try (HttpShim shim = new HttpShim(system.router(), new HttpShimContext().port(0).maxConcurrentRequests(1)
                .bodyReadTimeoutNs(TimeUnit.SECONDS.toNanos(2)).log(log::add));
             Socket stalled = rawPost(shim.port(), "/v1/completions", "{\"prompt\":", 100)) {
            Await.until("the stalled upload holds the only slot", () -> shim.openRequests() == 1);
            final HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + shim.port()
                    + "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"hi\","
                    + "\"max_tokens\":2}")).build();
            final HttpResponse<String> refused = client.send(request, HttpResponse.BodyHandlers.ofString());
            expectError(refused, 429, "1 completion requests are already open on this server");
            assertEquals("1", refused.headers().firstValue("Retry-After").orElse(null));
            final String answer = readUntil(stalled.getInputStream(), "}}");
            assertTrue(answer.startsWith("HTTP/1.1 408 "), answer);
            assertTrue(answer.toLowerCase().contains("connection: close"), answer);
            assertTrue(answer.contains("\"code\":\"request_timeout\""), answer);
            assertTrue(answer.contains("the request body did not arrive in full within 2000 ms"), answer);
            Await.until("the slot is free", () -> shim.openRequests() == 0);
            assertEquals(200, client.send(request, HttpResponse.BodyHandlers.ofString()).statusCode(),
                    "the next completion is served");
            assertTrue(log.contains("http: /v1/completions answered 408 request_timeout: the request body did not"
                    + " arrive in full within 2000 ms"), log.toString());
            assertTrue(log.stream().anyMatch(line -> line.startsWith("http: /v1/completions answered 429 overloaded")),
                    log.toString());
        }
    }

    /**
     * A streamed completion that waits for its first token (no node will ever take it) writes SSE comments; a client
     * that closes its socket then is noticed by a failed write and its request is cancelled in the router.
     */
    @Test
    void clientLeavingBeforeTheFirstTokenCancelsItsRequest() throws Exception {
        final List<String> log = Collections.synchronizedList(new ArrayList<>());
        try (ServingSystem idle = ServingSystem.start(TestSystems.options("leave").prefillNodes(0).decodeNodes(0)
                .routerSettings(ctx -> ctx.queueTimeoutNs(TimeUnit.HOURS.toNanos(1))));
             HttpShim shim = new HttpShim(idle.router(), new HttpShimContext().port(0)
                     .streamPingIntervalNs(TimeUnit.MILLISECONDS.toNanos(20)).log(log::add))) {
            final HttpRequest metrics = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + shim.port()
                    + "/metrics")).build();
            final String body = "{\"prompt\":\"hi\",\"stream\":true}";
            try (Socket socket = rawPost(shim.port(), "/v1/completions", body, body.length())) {
                final String head = readUntil(socket.getInputStream(), ": ping\n\n");
                assertTrue(head.startsWith("HTTP/1.1 200 "), head);
                assertEquals(1, Metrics.parse(client.send(metrics, HttpResponse.BodyHandlers.ofString()).body())
                        .count("splitserve_requests_active"), "the request waits in the router");
            }
            Await.until("the request is cancelled", () -> Metrics.parse(client.send(metrics,
                    HttpResponse.BodyHandlers.ofString()).body()).count("splitserve_requests_active") == 0);
            Await.until("the slot is free", () -> shim.openRequests() == 0);
            assertEquals(0, Metrics.parse(client.send(metrics, HttpResponse.BodyHandlers.ofString()).body())
                    .count("splitserve_queue_depth"));
            assertTrue(log.contains("http: /v1/completions client went away after 0 token(s); request cancelled"),
                    log.toString());
        }
    }

    private static List<String> sseData(String body) {
        final List<String> data = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            if (!block.isBlank()) {
                assertTrue(block.startsWith("data: "), "every SSE event is a data line: " + block);
                data.add(block.substring("data: ".length()));
            }
        }
        return data;
    }
}
