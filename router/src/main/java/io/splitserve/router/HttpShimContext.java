package io.splitserve.router;

import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Configuration of the {@link HttpShim}, as a context object with defaults: 127.0.0.1:8000, no API key, request
 * bodies up to 1 MiB that must arrive in full within 30 s (else 408), a request line and headers within 10 s and an
 * idle persistent connection closed after 30 s ({@link HttpConnectionTimeouts}: the JDK's server has them per process,
 * from the first shim's context), at most 64 completions open at once (more get
 * 429 with {@code Retry-After: 1}), a streamed completion that has no token yet writes an SSE comment every second
 * (so a client that went away is noticed and its request cancelled before the first token), 120 s without a token
 * before a request is abandoned, and log lines to standard error.
 */
public final class HttpShimContext {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8000;
    public static final int DEFAULT_MAX_BODY_BYTES = 1 << 20;
    public static final int DEFAULT_MAX_CONCURRENT_REQUESTS = 64;
    public static final long DEFAULT_BODY_READ_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);
    public static final long DEFAULT_REQUEST_HEADER_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);
    public static final long DEFAULT_KEEP_ALIVE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);
    /**
     * A refused request may come back after one second: the limits it hit count requests open now, which free as
     * soon as any of them ends (a short completion takes about that long), and clients back off further on their own.
     */
    public static final int DEFAULT_RETRY_AFTER_SECONDS = 1;
    public static final long DEFAULT_STREAM_PING_INTERVAL_NS = TimeUnit.SECONDS.toNanos(1);
    public static final long DEFAULT_IDLE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(120);

    private String host = DEFAULT_HOST;
    private int port = DEFAULT_PORT;
    private String apiKey;
    private int maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
    private int maxConcurrentRequests = DEFAULT_MAX_CONCURRENT_REQUESTS;
    private long bodyReadTimeoutNs = DEFAULT_BODY_READ_TIMEOUT_NS;
    private long requestHeaderTimeoutNs = DEFAULT_REQUEST_HEADER_TIMEOUT_NS;
    private long keepAliveTimeoutNs = DEFAULT_KEEP_ALIVE_TIMEOUT_NS;
    private int retryAfterSeconds = DEFAULT_RETRY_AFTER_SECONDS;
    private long streamPingIntervalNs = DEFAULT_STREAM_PING_INTERVAL_NS;
    private long idleTimeoutNs = DEFAULT_IDLE_TIMEOUT_NS;
    private Consumer<String> log = System.err::println;

    /** Checks the settings; throws IllegalArgumentException naming the first invalid one. */
    HttpShimContext conclude() {
        if (maxBodyBytes <= 0 || maxConcurrentRequests <= 0 || bodyReadTimeoutNs <= 0 || retryAfterSeconds <= 0
                || streamPingIntervalNs <= 0 || idleTimeoutNs <= 0 || requestHeaderTimeoutNs <= 0
                || keepAliveTimeoutNs <= 0 || log == null) {
            throw new IllegalArgumentException("HTTP body limit (" + maxBodyBytes + "), concurrent requests ("
                    + maxConcurrentRequests + "), body read timeout (" + bodyReadTimeoutNs + " ns), Retry-After ("
                    + retryAfterSeconds + " s), ping interval (" + streamPingIntervalNs + " ns) and idle timeout ("
                    + idleTimeoutNs + " ns), header timeout (" + requestHeaderTimeoutNs + " ns) and keep-alive timeout ("
                    + keepAliveTimeoutNs + " ns) must be positive and the log set");
        }
        return this;
    }

    public String host() { return host; }
    public HttpShimContext host(String host) { this.host = host; return this; }

    /** 0 picks a free port (see {@link HttpShim#port()}). */
    public int port() { return port; }
    public HttpShimContext port(int port) { this.port = port; return this; }

    /** When set, every /v1 request needs {@code Authorization: Bearer <key>}; /health and /metrics stay open. */
    public String apiKey() { return apiKey; }
    public HttpShimContext apiKey(String apiKey) { this.apiKey = apiKey; return this; }

    public int maxBodyBytes() { return maxBodyBytes; }
    public HttpShimContext maxBodyBytes(int bytes) { this.maxBodyBytes = bytes; return this; }

    /** Completion requests open at once (reading their body, waiting or streaming); one more is answered 429 at once. */
    public int maxConcurrentRequests() { return maxConcurrentRequests; }
    public HttpShimContext maxConcurrentRequests(int requests) { this.maxConcurrentRequests = requests; return this; }

    /** A completion's body must arrive in full within this time of its headers, else 408 and its slot is freed. */
    public long bodyReadTimeoutNs() { return bodyReadTimeoutNs; }
    public HttpShimContext bodyReadTimeoutNs(long ns) { this.bodyReadTimeoutNs = ns; return this; }

    /**
     * A connection's request line and headers must arrive within this time of its first byte; the JDK's server counts
     * it with the body's time as one request timer, so a connection sending them slowly or never is closed at most
     * this plus {@link #bodyReadTimeoutNs} (and about a second) after its first byte ({@link HttpConnectionTimeouts}).
     */
    public long requestHeaderTimeoutNs() { return requestHeaderTimeoutNs; }
    public HttpShimContext requestHeaderTimeoutNs(long ns) { this.requestHeaderTimeoutNs = ns; return this; }

    /** A persistent connection idle this long between requests is closed (about a second later at most). */
    public long keepAliveTimeoutNs() { return keepAliveTimeoutNs; }
    public HttpShimContext keepAliveTimeoutNs(long ns) { this.keepAliveTimeoutNs = ns; return this; }

    /** The {@code Retry-After} every 429 carries, in seconds. */
    public int retryAfterSeconds() { return retryAfterSeconds; }
    public HttpShimContext retryAfterSeconds(int seconds) { this.retryAfterSeconds = seconds; return this; }

    /**
     * How often a streamed completion without its first token yet writes the SSE comment {@code : ping}; a write
     * that fails tells the shim the client went away, and the request is cancelled.
     */
    public long streamPingIntervalNs() { return streamPingIntervalNs; }
    public HttpShimContext streamPingIntervalNs(long ns) { this.streamPingIntervalNs = ns; return this; }

    public long idleTimeoutNs() { return idleTimeoutNs; }
    public HttpShimContext idleTimeoutNs(long ns) { this.idleTimeoutNs = ns; return this; }

    /** Where the shim logs the completions it ends itself with an error, and cancellations by a departed client. */
    public Consumer<String> log() { return log; }
    public HttpShimContext log(Consumer<String> log) { this.log = log; return this; }
}
