package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The HTTP side of a router running as its own process, as the multi-process tests watch it. The router listens on
 * port 0 and prints the port it bound, so no port is picked here and released for someone else to take first.
 */
final class RouterHttp {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern BOUND_PORT = Pattern.compile("splitserve router http port (\\d+)");
    private final HttpClient http = HttpClient.newHttpClient();
    private final Process process;
    private final int port;

    private RouterHttp(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    /** The HTTP port the router bound. */
    int port() {
        return port;
    }

    /** The router's process. */
    Process process() {
        return process;
    }

    /** Starts {@code splitserve router <args> --port 0} among {@code roles} and reads back the port it bound. */
    static RouterHttp startRouter(RoleProcesses roles, String... args) throws Exception {
        final List<String> all = new ArrayList<>(List.of("router"));
        all.addAll(List.of(args));
        all.addAll(List.of("--port", "0"));
        final Process router = roles.start(all.toArray(String[]::new));
        final String output = roles.output(router);
        final Matcher m = BOUND_PORT.matcher(output);
        assertTrue(m.find(), "the router said which port it bound: " + output);
        return new RouterHttp(router, Integer.parseInt(m.group(1)));
    }

    String get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** The router's /metrics page, parsed. */
    Metrics metrics() throws Exception {
        return Metrics.parse(get("/metrics"));
    }

    /** Waits until /health counts at least {@code count} live nodes of {@code role} (the test's timeout bounds it). */
    void awaitNodes(String role, int count) throws Exception {
        Await.until(count + " " + role + " nodes",
                () -> JSON.readTree(get("/health")).get("nodes").get(role).asInt() >= count);
    }
}
