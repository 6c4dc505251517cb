package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;

/** The HTTP side of a router running as its own process, as the multi-process tests watch it. */
final class RouterHttp {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private final int port;

    /** Picks a free port for a router to listen on; {@link #port()} tells which. */
    RouterHttp() throws Exception {
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
    }

    int port() {
        return port;
    }

    String get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** Waits (up to 30 s) until /health counts at least {@code count} live nodes of {@code role}. */
    void awaitNodes(String role, int count) throws Exception {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        JsonNode health = JSON.readTree(get("/health"));
        while (health.get("nodes").get(role).asInt() < count && System.nanoTime() < deadline) {
            Thread.sleep(100);
            health = JSON.readTree(get("/health"));
        }
        assertTrue(health.get("nodes").get(role).asInt() >= count, health.toString());
    }
}
