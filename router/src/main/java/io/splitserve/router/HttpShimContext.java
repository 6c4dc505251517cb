package io.splitserve.router;

import java.util.concurrent.TimeUnit;

/**
 * Configuration of the {@link HttpShim}, as a context object with defaults: 127.0.0.1:8000, no API key, request
 * bodies up to 1 MiB, at most 64 completions open at once (more get 429), and 120 s without a token before a request is abandoned.
 */
public final class HttpShimContext {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8000;
    public static final int DEFAULT_MAX_BODY_BYTES = 1 << 20;
    public static final int DEFAULT_THREADS = 64;
    public static final long DEFAULT_IDLE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(120);

    private String host = DEFAULT_HOST;
    private int port = DEFAULT_PORT;
    private String apiKey;
    private int maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
    private int threads = DEFAULT_THREADS;
    private long idleTimeoutNs = DEFAULT_IDLE_TIMEOUT_NS;

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

    /** Completion requests served at once; one more is answered 429 at once. */
    public int threads() { return threads; }
    public HttpShimContext threads(int threads) { this.threads = threads; return this; }

    public long idleTimeoutNs() { return idleTimeoutNs; }
    public HttpShimContext idleTimeoutNs(long ns) { this.idleTimeoutNs = ns; return this; }
}
