package io.splitserve.launcher.soak;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The disaggregated system a soak drives: a router (journal on, so a restart knows its unfinished requests), prefill
 * nodes and decode nodes, each its own {@link RoleProcess} on the demo model's CPU engine or another model, over UDP
 * loopback (each process its own embedded driver) or over IPC (every role joined to one {@code splitserve driver}
 * process, which no fault kills). Every port and directory is fixed at start, so a restarted role comes back where the
 * others expect it; only the router's HTTP port and, over UDP, its driver directory are new per incarnation.
 */
final class SoakSystem implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern FREE_PAGES = Pattern.compile(
            "^splitserve_node_free_kv_pages\\{node=\"(\\d+)\",role=\"([a-z]+)\"} (\\d+)$", Pattern.MULTILINE);
    private static final long READY_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(120);

    private final SoakContext ctx;
    private final Path logDir;
    private final Path aeronRoot;
    private final Path journal;
    private final String eventsChannel;
    /** Each node's command line without its driver options, by name (which names its log too). */
    private final Map<String, List<String>> nodes = new LinkedHashMap<>();
    private final Map<String, RoleProcess> running = new LinkedHashMap<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private RoleProcess driver;
    private RoleProcess router;
    private String routerAeronDir;
    private int routerIncarnation;

    SoakSystem(SoakContext ctx, Path workDir) throws IOException {
        this.ctx = ctx;
        this.logDir = Files.createDirectories(workDir.resolve("logs"));
        this.aeronRoot = Files.createDirectories(workDir.resolve("aeron"));
        this.journal = Files.createDirectories(workDir.resolve("journal"));
        this.eventsChannel = ctx.ipc() ? "aeron:ipc" : "aeron:udp?endpoint=127.0.0.1:" + freeUdpPort();
        for (String name : ctx.nodeNames(Fault.Kind.PREFILL_KILL)) {
            final List<String> args = new ArrayList<>(List.of("prefill", "--model", ctx.modelDir().toString(),
                    "--node-id", name.substring("prefill-".length()), "--router-channel", eventsChannel));
            if (!ctx.ipc()) {
                args.addAll(List.of("--control-channel", "aeron:udp?endpoint=127.0.0.1:" + freeUdpPort()));
            }
            nodes.put(name, args);
        }
        for (String name : ctx.nodeNames(Fault.Kind.DECODE_KILL)) {
            final List<String> args = new ArrayList<>(List.of("decode", "--model", ctx.modelDir().toString(),
                    "--node-id", name.substring("decode-".length()), "--router-channel", eventsChannel));
            if (!ctx.ipc()) {
                args.addAll(List.of("--control-channel", "aeron:udp?endpoint=127.0.0.1:" + freeUdpPort(),
                        "--kv-channel", "aeron:udp?endpoint=127.0.0.1:" + freeUdpPort(),
                        "--kv-ack-port", Integer.toString(freeUdpPort())));
            }
            nodes.put(name, args);
        }
    }

    private static int freeUdpPort() throws IOException {
        try (DatagramSocket socket = new DatagramSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** Starts every role and waits until the router counts all nodes live. */
    void start() throws Exception {
        if (ctx.ipc()) {
            final String dir = aeronRoot.resolve("driver").toString();
            driver = RoleProcess.start("driver", logDir, List.of(), List.of("driver", "--aeron-dir", dir),
                    READY_TIMEOUT_NS);
        }
        startRouter();
        for (String name : nodes.keySet()) {
            startNode(name, List.of());
        }
        awaitAllNodes();
    }

    private void startRouter() throws Exception {
        routerIncarnation++;
        final List<String> args = new ArrayList<>(List.of("router", "--model", ctx.modelDir().toString(),
                "--node-events-channel", eventsChannel, "--journal", journal.toString(), "--port", "0",
                "--heartbeat-timeout-ms", Long.toString(ctx.heartbeatTimeoutMs()),
                "--request-body-timeout-ms", Long.toString(ctx.requestBodyTimeoutMs())));
        args.addAll(driverOptions("router-" + routerIncarnation));
        routerAeronDir = ctx.ipc() ? aeronRoot.resolve("driver").toString()
                : aeronRoot.resolve("router-" + routerIncarnation).toString();
        router = RoleProcess.start("router", logDir, List.of(), args, READY_TIMEOUT_NS);
        running.put("router", router);
    }

    private List<String> driverOptions(String ownDirName) {
        return ctx.ipc() ? List.of("--join-driver", aeronRoot.resolve("driver").toString())
                : List.of("--aeron-dir", aeronRoot.resolve(ownDirName).toString());
    }

    private void startNode(String name, List<String> properties) throws Exception {
        final List<String> args = new ArrayList<>(nodes.get(name));
        args.addAll(driverOptions(name));
        running.put(name, RoleProcess.start(name, logDir, properties, args, READY_TIMEOUT_NS));
    }

    /** SIGKILLs the router and starts a new one on the same journal; returns once every node said hello to it. */
    void restartRouter() throws Exception {
        router.kill();
        startRouter();
        awaitAllNodes();
    }

    /** SIGKILLs node {@code name} and starts it again with these system properties (none: as at first). */
    void restartNode(String name, List<String> properties) throws Exception {
        running.get(name).kill();
        startNode(name, properties);
    }

    List<String> nodeNames(String rolePrefix) {
        return nodes.keySet().stream().filter(n -> n.startsWith(rolePrefix)).toList();
    }

    /** The processes running now, by role name (driver first when there is one). */
    Map<String, RoleProcess> processes() {
        final Map<String, RoleProcess> all = new LinkedHashMap<>();
        if (driver != null) {
            all.put("driver", driver);
        }
        all.putAll(running);
        return all;
    }

    /** The media driver directory clients of the current router connect through. */
    String clientAeronDir() {
        return routerAeronDir;
    }

    int routerHttpPort() {
        return router.httpPort();
    }

    Path logDir() {
        return logDir;
    }

    String get(String path) throws IOException, InterruptedException {
        final HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + router.httpPort() + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("GET " + path + " answered " + response.statusCode() + ": " + response.body());
        }
        return response.body();
    }

    /** Free KV pages each live node last reported, keyed {@code role-node}, from the router's /metrics. */
    Map<String, Integer> freePages() throws IOException, InterruptedException {
        final Map<String, Integer> pages = new TreeMap<>();
        final Matcher m = FREE_PAGES.matcher(get("/metrics"));
        while (m.find()) {
            pages.put(m.group(2) + "-" + m.group(1), Integer.parseInt(m.group(3)));
        }
        return pages;
    }

    /** Waits until /health counts every prefill and decode node live, bounded by the ready timeout. */
    void awaitAllNodes() throws Exception {
        final long deadline = System.nanoTime() + READY_TIMEOUT_NS;
        while (true) {
            try {
                final JsonNode live = JSON.readTree(get("/health")).get("nodes");
                if (live != null && live.path("prefill").asInt() >= ctx.prefillNodes()
                        && live.path("decode").asInt() >= ctx.decodeNodes()) {
                    return;
                }
            } catch (IOException e) {
                // the router is still coming up
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the router did not see every node live within "
                        + TimeUnit.NANOSECONDS.toSeconds(READY_TIMEOUT_NS) + " s; logs in " + logDir);
            }
            Thread.sleep(50);
        }
    }

    @Override
    public void close() {
        final List<RoleProcess> all = new ArrayList<>(running.values());
        if (driver != null) {
            all.add(driver); // last: the roles joined to it would otherwise see it go first
        }
        for (RoleProcess p : all) {
            try {
                p.kill();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
