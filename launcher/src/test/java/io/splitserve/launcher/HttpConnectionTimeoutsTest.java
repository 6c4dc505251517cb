package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * A router process started with one-second header, body and keep-alive timeouts (the JDK's server reads its limits
 * once per process, so only a process of its own shows them) closes, over raw sockets: a connection that sends half a
 * request line and stops, one that sends nothing, and a persistent connection left idle after two requests, which
 * both got their answers on it. Each close is awaited as end of stream within a bound (20 s) far above the limits and
 * below the JDK's defaults (no request limit, 30 s idle), so the test fails if the options do not reach the server and
 * never depends on when exactly the close comes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class HttpConnectionTimeoutsTest {
    private static final int CLOSE_BOUND_MS = (int) TimeUnit.SECONDS.toMillis(20);

    private final RoleProcesses roles = new RoleProcesses();
    private RouterHttp router;

    @BeforeAll
    void start() throws Exception {
        final String dir = TestSystems.aeronDir("http-timeouts");
        roles.start("driver", "--aeron-dir", dir);
        router = RouterHttp.startRouter(roles, "--model", TestSystems.demoModel().toString(), "--join-driver", dir,
                "--request-header-timeout-ms", "1000", "--request-body-timeout-ms", "1000",
                "--keep-alive-timeout-ms", "1000");
    }

    @AfterAll
    void stop() {
        roles.close();
    }

    private Socket connect() throws IOException {
        final Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", router.port()));
        socket.setSoTimeout(CLOSE_BOUND_MS);
        return socket;
    }

    /** Reads until the server ends the stream; a read that waits out the bound fails the test. */
    private static void assertClosedByServer(InputStream in, String what) throws IOException {
        try {
            while (in.read() != -1) {
                // what the server sent before closing, if anything, is not the point
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError(what + ": still open after " + CLOSE_BOUND_MS + " ms", e);
        } catch (SocketException e) {
            // a reset is a close too
        }
    }

    @Test
    void halfARequestLineIsClosed() throws Exception {
        try (Socket socket = connect()) {
            socket.getOutputStream().write("POST /v1/compl".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            assertClosedByServer(socket.getInputStream(), "half a request line");
        }
    }

    @Test
    void aConnectionThatSendsNothingIsClosed() throws Exception {
        try (Socket socket = connect()) {
            assertClosedByServer(socket.getInputStream(), "a silent connection");
        }
    }

    @Test
    void aKeepAliveClientIsServedThenClosedWhenIdle() throws Exception {
        try (Socket socket = connect()) {
            final OutputStream out = socket.getOutputStream();
            final InputStream in = socket.getInputStream();
            for (int i = 0; i < 2; i++) {
                out.write("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                final String body = readResponse(in);
                assertTrue(body.contains("splitserve_requests_accepted_total"),
                        "request " + i + " on the same connection answered: " + body);
            }
            assertClosedByServer(in, "an idle persistent connection");
        }
    }

    /** Reads one HTTP/1.1 response with a Content-Length and returns its body; asserts status 200. */
    private static String readResponse(InputStream in) throws IOException {
        final ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            final int b = in.read();
            if (b == -1) {
                throw new AssertionError("the connection ended inside a response's headers: " + head);
            }
            head.write(b);
        }
        final String headers = head.toString(StandardCharsets.US_ASCII);
        assertTrue(headers.startsWith("HTTP/1.1 200"), headers);
        int length = -1;
        for (String line : headers.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring("content-length:".length()).trim());
            }
        }
        assertTrue(length >= 0, "a Content-Length: " + headers);
        final byte[] body = in.readNBytes(length);
        assertEquals(length, body.length, "the whole body");
        return new String(body, StandardCharsets.UTF_8);
    }
}
