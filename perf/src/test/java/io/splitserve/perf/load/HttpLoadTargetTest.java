package io.splitserve.perf.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP target's reading of OpenAI-style SSE streams and error answers, from a scripted local server. */
class HttpLoadTargetTest {
    HttpServer server;
    final AtomicReference<String> body = new AtomicReference<>();
    volatile int status = 200;
    volatile String answer = "";

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/completions", exchange -> {
            body.set(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            final byte[] bytes = answer.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    /** Events as text: "token", "complete P O", "error KIND". */
    List<String> send() throws Exception {
        final List<String> events = new ArrayList<>();
        final CompletableFuture<Void> end = new CompletableFuture<>();
        try (HttpLoadTarget target = new HttpLoadTarget("http://127.0.0.1:" + server.getAddress().getPort() + "/", "m")) {
            target.submit(new RequestSpec("hello", 2, 3), new ResponseObserver() {
                @Override
                public void onTokens(long nowNs) {
                    events.add("token");
                }

                @Override
                public void onComplete(long nowNs, int promptTokens, int outputTokens) {
                    events.add("complete " + promptTokens + " " + outputTokens);
                    end.complete(null);
                }

                @Override
                public void onError(long nowNs, String kind) {
                    events.add("error " + kind);
                    end.complete(null);
                }
            });
            end.get(10, TimeUnit.SECONDS);
        }
        return events;
    }

    static String chunk(String text, String finish) {
        return "data: {\"choices\":[{\"index\":0,\"text\":\"" + text + "\",\"finish_reason\":"
                + (finish == null ? "null" : "\"" + finish + "\"") + "}]}\n\n";
    }

    @Test
    void streamedChunksAreArrivalsAndUsageGivesTheCounts() throws Exception {
        answer = chunk("a", null) + chunk("", null) + chunk("b", null) + chunk("c", "length")
                + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n";
        assertEquals(List.of("token", "token", "token", "complete 2 4"), send());
        final String sent = body.get();
        assertTrue(sent.contains("\"max_tokens\":3") && sent.contains("\"ignore_eos\":true")
                && sent.contains("\"stream\":true") && sent.contains("\"model\":\"m\"")
                && sent.contains("\"include_usage\":true"), sent);
    }

    @Test
    void errorAnswersAreNamedByStatusAndCode() throws Exception {
        status = 429;
        answer = "{\"error\":{\"message\":\"queue full\",\"type\":\"rate_limit_error\",\"code\":\"overloaded\"}}";
        assertEquals(List.of("error HTTP_429_OVERLOADED"), send());
    }

    @Test
    void errorsInsideTheStreamAndTruncatedStreamsAreErrors() throws Exception {
        answer = chunk("a", null) + "data: {\"error\":{\"message\":\"x\",\"code\":\"node_failed\"}}\n\ndata: [DONE]\n\n";
        assertEquals(List.of("token", "error STREAM_NODE_FAILED"), send());
        answer = chunk("a", null);
        assertEquals(List.of("token", "error STREAM_TRUNCATED"), send());
    }

    @Test
    void cancelledFinishIsAnError() throws Exception {
        answer = chunk("a", "cancelled") + "data: [DONE]\n\n";
        assertEquals(List.of("token", "error FINISHED_CANCELLED"), send());
    }

    @Test
    void rejectsUrlsThatAreNotHttp() {
        assertThrows(IllegalArgumentException.class, () -> new HttpLoadTarget("ftp://x", ""));
    }
}
