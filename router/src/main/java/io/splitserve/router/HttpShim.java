package io.splitserve.router;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The OpenAI-compatible HTTP front door of the router, on the JDK's HTTP server with Jackson for JSON:
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions} (non-stream, or SSE chunks ending with
 * {@code data: [DONE]}), {@code GET /v1/models}, {@code GET /health} and {@code GET /metrics} (Prometheus text).
 *
 * <p>Errors use OpenAI's {@code {"error": {"message", "type", "code"}}} body: 400 for malformed JSON, bad fields and
 * too-long prompts, 401 for a missing or wrong API key, 404 for an unknown model or path, 405 for a wrong method,
 * 408 for a body that does not arrive in full within the body read timeout (its slot is freed at once), 413 for a body
 * over the limit, 429 with {@code Retry-After} when the router's queue is full or too many completions are open on this
 * server (answered at once either way), 503 when no node can serve, 500 otherwise. A streamed completion writes an SSE
 * comment while it waits for its first token, so a client that disconnects at any stage has its request cancelled,
 * freeing its pages; a whole (non-stream) completion's client is only noticed gone when its answer is written. Errors
 * the shim decides itself are logged once through {@link HttpShimContext#log}; the router logs its own.
 *
 * <p>The JDK server offers no per-server header or keep-alive timeout: its {@code sun.net.httpserver.maxReqTime} and
 * {@code sun.net.httpserver.idleInterval} are JVM-wide system properties read once, so they are left to the JVM's
 * command line.
 */
public final class HttpShim implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The SSE comment a stream waiting for its first token writes, to learn whether its client is still there. */
    private static final byte[] PING = ": ping\n\n".getBytes(StandardCharsets.US_ASCII);
    /** Opt-in header: streamed chunks then carry {@code sampled_at_ns}, the node's sampling time (for latency). */
    public static final String TIMESTAMPS_HEADER = "X-SplitServe-Timestamps";

    private final RouterAgent router;
    private final HttpShimContext ctx;
    private final HttpServer server;
    private final ExecutorService executor;
    private final Semaphore openRequests;
    private final ScheduledExecutorService bodyWatchdog;

    public HttpShim(RouterAgent router, HttpShimContext ctx) throws IOException {
        this.router = router;
        this.ctx = ctx.conclude();
        HttpConnectionTimeouts.apply(ctx, ctx.log()); // before the process's first JDK server reads them
        this.server = HttpServer.create(new InetSocketAddress(ctx.host(), ctx.port()), 256);
        this.openRequests = new Semaphore(ctx.maxConcurrentRequests());
        this.bodyWatchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            final Thread t = new Thread(r, "splitserve-http-body-watchdog");
            t.setDaemon(true);
            return t;
        });
        this.executor = Executors.newCachedThreadPool(r -> {
            final Thread t = new Thread(r, "splitserve-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    /** Completion requests open now (reading their body, waiting or streaming). */
    public int openRequests() {
        return ctx.maxConcurrentRequests() - openRequests.availablePermits();
    }

    /**
     * One open completion's place under the concurrency limit, given back exactly once: by its handler when it ends,
     * or earlier by the body watchdog when the body did not arrive in time.
     */
    private final class Slot {
        private final AtomicBoolean released = new AtomicBoolean();
        private final AtomicBoolean bodyDecided = new AtomicBoolean();

        void release() {
            if (released.compareAndSet(false, true)) {
                openRequests.release();
            }
        }

        /** Whether the body arrived before the watchdog gave up on it (then the watchdog never will). */
        boolean bodyArrived() {
            return bodyDecided.compareAndSet(false, true);
        }

        /** Whether the watchdog gives up on the body (then the handler must not answer). */
        boolean bodyTimedOut() {
            return bodyDecided.compareAndSet(false, true);
        }
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            final String path = exchange.getRequestURI().getPath();
            final String method = exchange.getRequestMethod();
            switch (path) {
                case "/health" -> {
                    if (allow(exchange, method, "GET")) {
                        health(exchange);
                    }
                }
                case "/metrics" -> {
                    if (allow(exchange, method, "GET")) {
                        final byte[] body = router.metricsText().get(5, TimeUnit.SECONDS).getBytes(StandardCharsets.UTF_8);
                        exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                        exchange.sendResponseHeaders(200, body.length);
                        exchange.getResponseBody().write(body);
                    }
                }
                case "/v1/models" -> {
                    if (authorized(exchange) && allow(exchange, method, "GET")) {
                        final ObjectNode root = JSON.createObjectNode().put("object", "list");
                        root.putArray("data").addObject().put("id", router.modelName()).put("object", "model")
                                .put("created", 0).put("owned_by", "splitserve");
                        json(exchange, 200, root);
                    }
                }
                case "/v1/completions", "/v1/chat/completions" -> {
                    if (authorized(exchange) && allow(exchange, method, "POST")) {
                        if (!openRequests.tryAcquire()) {
                            refuse(exchange, 429, "rate_limit_error", "overloaded", ctx.maxConcurrentRequests()
                                    + " completion requests are already open on this server"
                                    + " (--max-concurrent-requests); retry later");
                            return;
                        }
                        final Slot slot = new Slot();
                        try {
                            complete(exchange, path.endsWith("chat/completions"), slot);
                        } finally {
                            slot.release();
                        }
                    }
                }
                default -> error(exchange, 404, "invalid_request_error", "not_found", "no route " + method + " " + path);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            error(exchange, 503, "server_error", "router_unavailable", "the router did not answer in time");
        } catch (IOException e) {
            // the client went away mid-response: nothing more can be said to it
        }
    }

    private boolean allow(HttpExchange exchange, String method, String allowed) throws IOException {
        if (method.equals(allowed)) {
            return true;
        }
        exchange.getResponseHeaders().set("Allow", allowed);
        error(exchange, 405, "invalid_request_error", "method_not_allowed",
                exchange.getRequestURI().getPath() + " accepts " + allowed + ", not " + method);
        return false;
    }

    private boolean authorized(HttpExchange exchange) throws IOException {
        if (ctx.apiKey() == null) {
            return true;
        }
        final String header = exchange.getRequestHeaders().getFirst("Authorization");
        final String expected = "Bearer " + ctx.apiKey();
        if (header != null && MessageDigest.isEqual(header.getBytes(StandardCharsets.UTF_8),
                expected.getBytes(StandardCharsets.UTF_8))) {
            return true;
        }
        error(exchange, 401, "authentication_error", "invalid_api_key", header == null
                ? "missing API key: send Authorization: Bearer <key>" : "invalid API key");
        return false;
    }

    private void health(HttpExchange exchange) throws IOException, InterruptedException, ExecutionException,
            TimeoutException {
        final Map<String, Integer> live = router.health().get(5, TimeUnit.SECONDS);
        final boolean serving = live.get("colocated") > 0 || (live.get("prefill") > 0 && live.get("decode") > 0);
        final ObjectNode root = JSON.createObjectNode().put("status", serving ? "ok" : "unavailable");
        final ObjectNode nodes = root.putObject("nodes");
        live.forEach(nodes::put);
        json(exchange, serving ? 200 : 503, root);
    }

    private void complete(HttpExchange exchange, boolean chat, Slot slot) throws IOException, InterruptedException {
        final byte[] body = readBody(exchange, slot);
        if (body == null) {
            return;
        }
        final OpenAiRequestParser.Parsed parsed;
        try {
            parsed = OpenAiRequestParser.parse(body, chat);
        } catch (OpenAiRequestParser.BadRequest e) {
            refuse(exchange, 400, "invalid_request_error", "invalid_request", e.getMessage());
            return;
        }
        final HttpResponder responder = new HttpResponder();
        router.submit(parsed.input(), responder);
        final String id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID();
        final long created = System.currentTimeMillis() / 1000;
        final boolean timestamps = "true".equalsIgnoreCase(exchange.getRequestHeaders().getFirst(TIMESTAMPS_HEADER));
        if (parsed.stream()) {
            final HttpResponder.Event first = responder.next(Math.min(ctx.streamPingIntervalNs(), ctx.idleTimeoutNs()));
            if (first != null && first.error() != null) {
                errorFor(exchange, first.error(), first.message());
                return;
            }
            stream(exchange, responder, first, id, created, chat, parsed.includeUsage(), timestamps);
            return;
        }
        final HttpResponder.Event first = responder.next(ctx.idleTimeoutNs());
        if (first == null) {
            router.cancel(responder);
            refuse(exchange, 503, "server_error", "timeout", "no token within the idle timeout");
            return;
        }
        if (first.error() != null) {
            errorFor(exchange, first.error(), first.message());
            return;
        }
        whole(exchange, responder, first, id, created, chat);
    }

    /**
     * The request body, or null once it has been answered: 413 over the limit, or 408 by the watchdog when the body
     * did not arrive in full within the body read timeout. The watchdog frees the slot and answers with
     * {@code Connection: close}; this thread stays in its read until the client sends the rest or goes away.
     */
    private byte[] readBody(HttpExchange exchange, Slot slot) throws IOException {
        final String length = exchange.getRequestHeaders().getFirst("Content-Length");
        if (length != null && length.matches("\\d+") && Long.parseLong(length) > ctx.maxBodyBytes()) {
            refuse(exchange, 413, "invalid_request_error", "request_too_large",
                    "request body of " + length + " bytes exceeds the limit of " + ctx.maxBodyBytes());
            return null;
        }
        final ScheduledFuture<?> watchdog = bodyWatchdog.schedule(() -> bodyTimedOut(exchange, slot),
                ctx.bodyReadTimeoutNs(), TimeUnit.NANOSECONDS);
        final byte[] body;
        try {
            body = exchange.getRequestBody().readNBytes(ctx.maxBodyBytes() + 1);
        } finally {
            watchdog.cancel(false);
        }
        if (!slot.bodyArrived()) {
            return null;
        }
        if (body.length > ctx.maxBodyBytes()) {
            refuse(exchange, 413, "invalid_request_error", "request_too_large",
                    "request body exceeds the limit of " + ctx.maxBodyBytes() + " bytes");
            return null;
        }
        return body;
    }

    private void bodyTimedOut(HttpExchange exchange, Slot slot) {
        if (!slot.bodyTimedOut()) {
            return;
        }
        slot.release();
        exchange.getResponseHeaders().set("Connection", "close");
        try {
            refuse(exchange, 408, "invalid_request_error", "request_timeout", "the request body did not arrive in full"
                    + " within " + TimeUnit.NANOSECONDS.toMillis(ctx.bodyReadTimeoutNs()) + " ms");
            exchange.getResponseBody().flush();
        } catch (IOException e) {
            // the client is gone as well: its slot is free, nothing more to say
        }
    }

    private void whole(HttpExchange exchange, HttpResponder responder, HttpResponder.Event first, String id,
                       long created, boolean chat) throws IOException, InterruptedException {
        final StringBuilder text = new StringBuilder();
        HttpResponder.Event event = first;
        int completionTokens = 0;
        while (true) {
            text.append(event.text());
            completionTokens += event.tokenId() >= 0 ? 1 : 0;
            if (event.last()) {
                break;
            }
            event = responder.next(ctx.idleTimeoutNs());
            if (event == null) {
                router.cancel(responder);
                refuse(exchange, 503, "server_error", "timeout", "no token within the idle timeout");
                return;
            }
            if (event.error() != null) {
                errorFor(exchange, event.error(), event.message());
                return;
            }
        }
        final ObjectNode root = JSON.createObjectNode().put("id", id)
                .put("object", chat ? "chat.completion" : "text_completion").put("created", created)
                .put("model", router.modelName());
        final ObjectNode choice = root.putArray("choices").addObject().put("index", 0);
        if (chat) {
            choice.putObject("message").put("role", "assistant").put("content", text.toString());
        } else {
            choice.put("text", text.toString()).putNull("logprobs");
        }
        choice.put("finish_reason", finishName(event.finish()));
        usage(root, event.promptTokens(), completionTokens);
        json(exchange, 200, root);
    }

    private void stream(HttpExchange exchange, HttpResponder responder, HttpResponder.Event first, String id,
                        long created, boolean chat, boolean includeUsage, boolean timestamps)
            throws IOException, InterruptedException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-cache");
        exchange.sendResponseHeaders(200, 0);
        final OutputStream out = exchange.getResponseBody();
        HttpResponder.Event event = first;
        int completionTokens = 0;
        try {
            long waitedNs = Math.min(ctx.streamPingIntervalNs(), ctx.idleTimeoutNs());
            while (event == null) {
                if (waitedNs >= ctx.idleTimeoutNs()) {
                    router.cancel(responder);
                    event = new HttpResponder.Event(-1, -1, "", FinishReason.ERROR, 0, 0, ErrorCode.TIMEOUT,
                            "no token within the idle timeout");
                    break;
                }
                out.write(PING);
                out.flush();
                event = responder.next(ctx.streamPingIntervalNs());
                waitedNs += ctx.streamPingIntervalNs();
            }
            if (chat) {
                final ObjectNode roleChunk = chunk(id, created, true);
                final ObjectNode choice = (ObjectNode) roleChunk.get("choices").get(0);
                choice.putObject("delta").put("role", "assistant").put("content", "");
                choice.putNull("finish_reason");
                send(out, roleChunk.toString());
            }
            while (true) {
                if (event.error() != null) {
                    final ObjectNode error = JSON.createObjectNode();
                    error.putObject("error").put("message", event.message()).put("type", "server_error")
                            .put("code", event.error().name().toLowerCase());
                    send(out, error.toString());
                    break;
                }
                completionTokens += event.tokenId() >= 0 ? 1 : 0;
                if (!event.text().isEmpty() || event.last()) {
                    final ObjectNode chunk = chunk(id, created, chat);
                    final ObjectNode choice = (ObjectNode) chunk.get("choices").get(0);
                    if (chat) {
                        final ObjectNode delta = choice.putObject("delta");
                        if (!event.text().isEmpty()) {
                            delta.put("content", event.text());
                        }
                    } else {
                        choice.put("text", event.text()).putNull("logprobs");
                    }
                    if (event.last()) {
                        choice.put("finish_reason", finishName(event.finish()));
                    } else {
                        choice.putNull("finish_reason");
                    }
                    if (timestamps) {
                        chunk.put("sampled_at_ns", event.epochNanos());
                    }
                    send(out, chunk.toString());
                }
                if (event.last()) {
                    if (includeUsage) {
                        final ObjectNode usage = chunk(id, created, chat);
                        usage.putArray("choices");
                        usage(usage, event.promptTokens(), completionTokens);
                        send(out, usage.toString());
                    }
                    break;
                }
                event = responder.next(ctx.idleTimeoutNs());
                if (event == null) {
                    router.cancel(responder);
                    break;
                }
            }
            send(out, "[DONE]");
        } catch (IOException e) {
            router.cancel(responder); // the client went away: free the request's pages everywhere
            ctx.log().accept("http: " + exchange.getRequestURI().getPath() + " client went away after "
                    + completionTokens + " token(s); request cancelled");
        }
    }

    private ObjectNode chunk(String id, long created, boolean chat) {
        final ObjectNode chunk = JSON.createObjectNode().put("id", id)
                .put("object", chat ? "chat.completion.chunk" : "text_completion").put("created", created)
                .put("model", router.modelName());
        final ArrayNode choices = chunk.putArray("choices");
        choices.addObject().put("index", 0);
        return chunk;
    }

    private static void send(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void usage(ObjectNode root, int promptTokens, int completionTokens) {
        root.putObject("usage").put("prompt_tokens", promptTokens).put("completion_tokens", completionTokens)
                .put("total_tokens", promptTokens + completionTokens);
    }

    private static String finishName(FinishReason finish) {
        return switch (finish) {
            case LENGTH -> "length";
            case CANCELLED -> "cancelled";
            default -> "stop";
        };
    }

    private void errorFor(HttpExchange exchange, ErrorCode code, String message) throws IOException {
        switch (code) {
            case BAD_REQUEST, PROMPT_TOO_LONG -> error(exchange, 400, "invalid_request_error",
                    code.name().toLowerCase(), message);
            case UNKNOWN_MODEL -> error(exchange, 404, "invalid_request_error", "model_not_found", message);
            case OVERLOADED -> {
                exchange.getResponseHeaders().set("Retry-After", Integer.toString(ctx.retryAfterSeconds()));
                error(exchange, 429, "rate_limit_error", "overloaded", message);
            }
            case NODE_FAILED, TIMEOUT -> error(exchange, 503, "server_error", code.name().toLowerCase(), message);
            default -> error(exchange, 500, "server_error", code.name().toLowerCase(), message);
        }
    }

    /**
     * Answers a completion with an error the shim decided itself (the router logs its own), logging it once; a 429
     * carries {@code Retry-After}.
     */
    private void refuse(HttpExchange exchange, int status, String type, String code, String message)
            throws IOException {
        ctx.log().accept("http: " + exchange.getRequestURI().getPath() + " answered " + status + " " + code + ": "
                + message);
        if (status == 429) {
            exchange.getResponseHeaders().set("Retry-After", Integer.toString(ctx.retryAfterSeconds()));
        }
        error(exchange, status, type, code, message);
    }

    private static void error(HttpExchange exchange, int status, String type, String code, String message)
            throws IOException {
        final ObjectNode root = JSON.createObjectNode();
        root.putObject("error").put("message", message).put("type", type).putNull("param").put("code", code);
        json(exchange, status, root);
    }

    private static void json(HttpExchange exchange, int status, ObjectNode root) throws IOException {
        final byte[] body = JSON.writeValueAsBytes(root);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, body.length);
        exchange.getResponseBody().write(body);
    }

    @Override
    public void close() {
        server.stop(0);
        bodyWatchdog.shutdownNow();
        executor.shutdownNow();
    }
}
