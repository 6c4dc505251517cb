package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.splitserve.client.ClientContext;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.SplitServeException;
import io.splitserve.client.Token;
import io.splitserve.client.TokenStream;
import io.splitserve.sbe.ErrorCode;
import java.net.DatagramSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
    private final RoleProcesses roles = new RoleProcesses();

    @AfterEach
    void killAll() {
        roles.close();
    }

    private static int freeUdpPort() throws Exception {
        try (DatagramSocket socket = new DatagramSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private Process decode(String model, String events, int id) throws Exception {
        return roles.start("decode", "--model", model, "--node-id", Integer.toString(id), "--router-channel", events,
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
        final RouterHttp http = RouterHttp.startRouter(roles, "--model", model, "--node-events-channel", events,
                "--aeron-dir", routerDir, "--heartbeat-timeout-ms", "500");
        roles.start("prefill", "--model", model, "--node-id", "1", "--router-channel", events,
                "--control-channel", "aeron:udp?endpoint=127.0.0.1:" + freeUdpPort(),
                "--aeron-dir", TestSystems.aeronDir("udp-prefill"));
        final Process first = decode(model, events, 101);
        final Process second = decode(model, events, 102);
        http.awaitNodes("decode", 2);

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
            // the holder of the sequence is the decode node whose heartbeat reports fewer free pages
            Await.until("a heartbeat showing which decode node holds the sequence", () -> busyNode(http.metrics()) > 0);
            final boolean firstBusy = busyNode(http.metrics()) == 101;
            (firstBusy ? first : second).destroyForcibly();
            while (stream.hasNext()) {
                final Token t = stream.next();
                assertEquals(ids.size(), t.index(), "no gap, no duplicate after the failover");
                ids.add(t.tokenId());
            }
            assertArrayEquals(Reference.generate(demo, prompt, max, false).tokens(),
                    ids.stream().mapToInt(Integer::intValue).toArray());
            assertEquals(3, http.metrics().count("splitserve_kv_transfers_ok_total"),
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

    /** The decode node (101 or 102) reporting strictly fewer free KV pages than the other, or -1 while they tie. */
    private static int busyNode(Metrics metrics) {
        final double first = metrics.value("splitserve_node_free_kv_pages", "node", "101", "role", "decode");
        final double second = metrics.value("splitserve_node_free_kv_pages", "node", "102", "role", "decode");
        return first < second ? 101 : second < first ? 102 : -1;
    }
}
