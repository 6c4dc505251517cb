package io.splitserve.launcher.soak;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The two misbehaving HTTP clients a soak injects, over raw sockets so nothing buffers or retries for them: a reader
 * that starts a streamed completion and then stops reading for a while before it leaves (its request must end and its
 * pages come back, which the end checks see), and an upload that sends part of its body and stalls (the router must
 * answer 408 after its body timeout).
 */
final class StalledClients {
    private StalledClients() {}

    /**
     * Streams a long completion with a small receive buffer, reads its status line, then reads nothing for
     * {@code stallNs} and closes the connection. Returns the HTTP status line the router answered.
     */
    static String stalledReader(int port, String prompt, int maxTokens, long stallNs)
            throws IOException, InterruptedException {
        final byte[] body = ("{\"prompt\": \"" + escape(prompt) + "\", \"max_tokens\": " + maxTokens
                + ", \"temperature\": 0, \"stream\": true, \"ignore_eos\": true}").getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket()) {
            socket.setReceiveBufferSize(1024);
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            socket.setSoTimeout((int) TimeUnit.SECONDS.toMillis(60));
            final OutputStream out = socket.getOutputStream();
            out.write(headers(port, body.length));
            out.write(body);
            out.flush();
            final String status = statusLine(socket.getInputStream());
            Thread.sleep(TimeUnit.NANOSECONDS.toMillis(stallNs)); // the fault itself: a client that stops reading
            return status;
        }
    }

    /**
     * Sends the headers and half of a completion's body, then nothing; returns the status line the router answers
     * within the body timeout plus {@code graceMs}, or {@code "no answer"}.
     */
    static String stalledUpload(int port, long bodyTimeoutMs, long graceMs) throws IOException {
        final byte[] body = "{\"prompt\": \"a stalled upload\", \"max_tokens\": 4}".getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            socket.setSoTimeout((int) (bodyTimeoutMs + graceMs));
            final OutputStream out = socket.getOutputStream();
            out.write(headers(port, body.length));
            out.write(body, 0, body.length / 2);
            out.flush();
            try {
                return statusLine(socket.getInputStream());
            } catch (SocketTimeoutException e) {
                return "no answer";
            }
        }
    }

    private static byte[] headers(int port, int contentLength) {
        return ("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + contentLength + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static String statusLine(InputStream in) throws IOException {
        final StringBuilder line = new StringBuilder();
        for (int c = in.read(); c >= 0 && c != '\n'; c = in.read()) {
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.length() == 0 ? "connection closed" : line.toString();
    }

    private static String escape(String s) {
        final StringBuilder out = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
