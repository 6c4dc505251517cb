package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitserve.client.ClientContext;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.SplitServeException;
import io.splitserve.client.Token;
import io.splitserve.client.TokenStream;
import io.splitserve.sbe.ErrorCode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.DatagramSocket;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Router, prefill node and two decode nodes as separate processes ({@code splitserve router|prefill|decode}) over
 * UDP loopback: greedy output equals {@code generate}; a decode process killed with SIGKILL mid-generation hands
 * its request to the other decode process and the stream continues exactly; when the last decode process is
 * killed, the client gets NODE_FAILED. Every child process is killed when the test ends.
 */
@Timeout(180)
class UdpProcessesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final List<Process> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void killAll() {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        for (Process p : processes) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private Process spawn(String... args) throws Exception {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-") || arg.startsWith("-Dchronicle")) {
                command.add(arg);
            }
        }
        command.add("-Xmx512m");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Main.class.getName());
        command.addAll(List.of(args));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        processes.add(process);
        final CountDownLatch ready = new CountDownLatch(1);
        final Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    if (line.contains(" ready ")) {
                        ready.countDown();
                    } else {
                        System.err.println("[" + args[0] + "] " + line);
                    }
                }
            } catch (java.io.IOException e) {
                // the process ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        assertTrue(ready.await(60, TimeUnit.SECONDS), args[0] + " did not start");
        return process;
    }

    private static int freeUdpPort() throws Exception {
        try (DatagramSocket socket = new DatagramSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static int freeTcpPort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private String get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private Process decode(String model, String events, int id) throws Exception {
        return spawn("decode", "--model", model, "--node-id", Integer.toString(id), "--router-channel", events,
                "--control-channel", "aeron:udp?endpoint=127.0.0.1:" + freeUdpPort(),
                "--kv-channel", "aeron:udp?endpoint=127.0.0.1:" + freeUdpPort(),
                "--kv-ack-port", Integer.toString(freeUdpPort()),
                "--aeron-dir", TestSystems.aeronDir("udp-decode-" + id));
    }

    @Test
    void separateProcessesOverUdp() throws Exception {
        final Path demo = TestSystems.demoModel();
        final String model = demo.toString();
        final String events = "aeron:udp?endpoint=127.0.0.1:" + freeUdpPort();
        final String routerDir = TestSystems.aeronDir("udp-router");
        final int httpPort = freeTcpPort();
        spawn("router", "--model", model, "--node-events-channel", events, "--aeron-dir", routerDir,
                "--port", Integer.toString(httpPort), "--heartbeat-timeout-ms", "500");
        spawn("prefill", "--model", model, "--node-id", "1", "--router-channel", events,
                "--control-channel", "aeron:udp?endpoint=127.0.0.1:" + freeUdpPort(),
                "--aeron-dir", TestSystems.aeronDir("udp-prefill"));
        final Process first = decode(model, events, 101);
        final Process second = decode(model, events, 102);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        JsonNode health = JSON.readTree(get(httpPort, "/health"));
        while (health.get("nodes").get("decode").asInt() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(100);
            health = JSON.readTree(get(httpPort, "/health"));
        }
        assertEquals(2, health.get("nodes").get("decode").asInt(), health.toString());

        try (SplitServeClient client = SplitServeClient.connect(new ClientContext().aeronDirectoryName(routerDir))) {
            final String prompt = "Once upon a time";
            assertArrayEquals(Reference.generate(demo, prompt, 20).tokens(),
                    client.generate(GenerateOptions.greedy(prompt, 20)).tokenIds(), "UDP path equals generate");

            final int max = 150;
            final TokenStream stream = client.stream(new GenerateOptions("", prompt, false, max, 0f, 1f, 0, 0,
                    List.of(), true));
            final List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                ids.add(stream.next().tokenId());
            }
            Thread.sleep(250); // a heartbeat shows which decode node holds the sequence
            final boolean firstBusy = busyNode(get(httpPort, "/metrics")) == 101;
            (firstBusy ? first : second).destroyForcibly();
            while (stream.hasNext()) {
                final Token t = stream.next();
                assertEquals(ids.size(), t.index(), "no gap, no duplicate after the failover");
                ids.add(t.tokenId());
            }
            assertArrayEquals(Reference.generate(demo, prompt, max, false).tokens(),
                    ids.stream().mapToInt(Integer::intValue).toArray());
            assertTrue(get(httpPort, "/metrics").contains("splitserve_kv_transfers_ok_total 3"),
                    "the killed node's request was prefilled again (prompt + tokens so far) for the other node");

            final TokenStream last = client.stream(new GenerateOptions("", prompt, false, 400, 0f, 1f, 0, 0,
                    List.of(), true));
            last.next();
            (firstBusy ? second : first).destroyForcibly();
            final SplitServeException e = assertThrows(SplitServeException.class, () -> {
                while (last.hasNext()) {
                    last.next();
                }
            });
            assertEquals(ErrorCode.NODE_FAILED, e.code(), e.getMessage());
        }
    }

    /** The decode node id with the fewest free KV pages in a /metrics text. */
    private static int busyNode(String metrics) {
        final Matcher m = Pattern.compile("splitserve_node_free_kv_pages\\{node=\"(\\d+)\",role=\"decode\"} (\\d+)")
                .matcher(metrics);
        int node = -1;
        long fewest = Long.MAX_VALUE;
        while (m.find()) {
            if (Long.parseLong(m.group(2)) < fewest) {
                fewest = Long.parseLong(m.group(2));
                node = Integer.parseInt(m.group(1));
            }
        }
        assertTrue(node > 0, metrics);
        return node;
    }
}
