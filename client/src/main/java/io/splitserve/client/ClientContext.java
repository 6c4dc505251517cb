package io.splitserve.client;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Configuration of a {@link SplitServeClient}, as a context object with defaults: the router's ingress on
 * {@code aeron:ipc} stream 101 and its egress on stream 102, the default Aeron directory, a random client id, a
 * 10 s connect timeout and a 60 s request timeout (from submission to the final token, refreshed by every token).
 */
public final class ClientContext {
    public static final String DEFAULT_CHANNEL = "aeron:ipc";
    public static final int DEFAULT_INGRESS_STREAM_ID = 101;
    public static final int DEFAULT_EGRESS_STREAM_ID = 102;
    public static final long DEFAULT_CONNECT_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);
    public static final long DEFAULT_REQUEST_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(60);

    private String aeronDirectoryName;
    private String ingressChannel = DEFAULT_CHANNEL;
    private int ingressStreamId = DEFAULT_INGRESS_STREAM_ID;
    private String egressChannel = DEFAULT_CHANNEL;
    private int egressStreamId = DEFAULT_EGRESS_STREAM_ID;
    private byte[] sharedSecret;
    private long clientId = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
    private long connectTimeoutNs = DEFAULT_CONNECT_TIMEOUT_NS;
    private long requestTimeoutNs = DEFAULT_REQUEST_TIMEOUT_NS;
    private BiConsumer<Long, SplitServeException> earlierSessionFailures = (id, e) -> { };
    private final List<Resumed> resumed = new ArrayList<>();

    /** A request an earlier client object with this client id sent and had not seen end, taken over at connect. */
    public record Resumed(long requestId, GenerateOptions options, int nextIndex, TokenListener listener) {
        public Resumed {
            if (nextIndex < 0 || options == null || listener == null) {
                throw new IllegalArgumentException("request " + requestId + " resumes at index " + nextIndex
                        + " with options " + options + " and listener " + listener + ": all are required");
            }
        }
    }

    /** The media driver's directory; null uses Aeron's default. */
    public String aeronDirectoryName() { return aeronDirectoryName; }
    public ClientContext aeronDirectoryName(String dir) { this.aeronDirectoryName = dir; return this; }

    public String ingressChannel() { return ingressChannel; }
    public ClientContext ingressChannel(String channel) { this.ingressChannel = channel; return this; }
    public int ingressStreamId() { return ingressStreamId; }
    public ClientContext ingressStreamId(int streamId) { this.ingressStreamId = streamId; return this; }

    /** Channel to subscribe to the router's answers on (over UDP, the dynamic multi-destination form). */
    public String egressChannel() { return egressChannel; }
    public ClientContext egressChannel(String channel) { this.egressChannel = channel; return this; }
    public int egressStreamId() { return egressStreamId; }
    public ClientContext egressStreamId(int streamId) { this.egressStreamId = streamId; return this; }

    /** Identifies this client to the router; reconnecting with the same id learns the fate of earlier requests. */
    public long clientId() { return clientId; }
    public ClientContext clientId(long clientId) { this.clientId = clientId; return this; }

    public long connectTimeoutNs() { return connectTimeoutNs; }
    public ClientContext connectTimeoutNs(long ns) { this.connectTimeoutNs = ns; return this; }

    /** Longest wait for the next event of a request before it fails with TIMEOUT (and is cancelled). */
    public long requestTimeoutNs() { return requestTimeoutNs; }
    public ClientContext requestTimeoutNs(long ns) { this.requestTimeoutNs = ns; return this; }

    /**
     * Told of errors for request ids this client object did not submit: requests of an earlier session with the same
     * client id that a router restart left unfinished (ROUTER_RESTARTED).
     */
    public BiConsumer<Long, SplitServeException> earlierSessionFailures() { return earlierSessionFailures; }
    public ClientContext earlierSessionFailures(BiConsumer<Long, SplitServeException> listener) {
        this.earlierSessionFailures = listener;
        return this;
    }

    /**
     * Takes over request {@code requestId}, which an earlier client object with this client id sent with
     * {@code options} and of which it passed on tokens up to {@code nextIndex} (exclusive): the client registers it
     * before its hello and sends it again, so {@code listener} gets the tokens from {@code nextIndex} on and its end,
     * or one error, exactly as if this client had sent it (a router restart's continuation included).
     */
    public ClientContext resume(long requestId, GenerateOptions options, int nextIndex, TokenListener listener) {
        resumed.add(new Resumed(requestId, options, nextIndex, listener));
        return this;
    }

    /** The requests {@link #resume} handed over, in order. */
    public List<Resumed> resumed() { return List.copyOf(resumed); }

    /**
     * The deployment's shared secret, or null for none: the client's hello then proves it, and a router with a secret
     * takes this client's requests only after that proof.
     */
    public byte[] sharedSecret() { return sharedSecret; }
    public ClientContext sharedSecret(byte[] secret) { this.sharedSecret = secret; return this; }
}
