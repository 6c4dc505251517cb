package io.splitserve.router;

import io.aeron.Aeron;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.agrona.concurrent.EpochNanoClock;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemEpochNanoClock;
import org.agrona.concurrent.SystemNanoClock;

/**
 * Configuration of a {@link RouterAgent}, as a context object with defaults: node events on {@code aeron:ipc}
 * stream 100, client ingress on stream 101 and egress on stream 102; prompts of at most 4096 tokens and outputs of at
 * most 1024; at most 256 requests queued for a node (more are refused at once as OVERLOADED); a node that sends no
 * heartbeat for 1 s is dead; a queued request that no node takes within 30 s fails with TIMEOUT; nodes cache prompt
 * prefixes, so placement is KV-aware ({@link PrefixAwarePlacement}: balance 1, imbalance factor 4, 262144 prompt
 * tokens remembered per node); no journal unless a directory is given; no shared secret (every node and client is
 * believed, as on loopback); time from the system clocks; log lines (one per failed request, refused node hellos,
 * refused peers) to standard error. Only the Aeron client and the served model have no default.
 */
public final class RouterContext {
    public static final String DEFAULT_CHANNEL = "aeron:ipc";
    public static final int DEFAULT_NODE_EVENTS_STREAM_ID = 100;
    public static final int DEFAULT_INGRESS_STREAM_ID = 101;
    public static final int DEFAULT_EGRESS_STREAM_ID = 102;
    public static final int DEFAULT_MAX_INPUT_LENGTH = 4096;
    public static final int DEFAULT_MAX_OUTPUT_LENGTH = 1024;
    public static final int DEFAULT_MAX_QUEUED_REQUESTS = 256;
    /**
     * Nodes send heartbeats every 100 ms from a liveness thread of their own that never waits for an engine step, so
     * a long step does not silence them and a dead node is found within 1 s (ten missed heartbeats).
     */
    public static final long DEFAULT_HEARTBEAT_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(1);
    public static final long DEFAULT_QUEUE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);
    public static final int DEFAULT_MAX_ATTEMPTS = 4;
    public static final int DEFAULT_MAX_RECOVERIES = 3;
    public static final double DEFAULT_KV_AWARE_BALANCE = 1.0;
    public static final double DEFAULT_KV_AWARE_IMBALANCE_FACTOR = 4.0;
    public static final long DEFAULT_PREFIX_INDEX_TOKENS = 262_144;

    private Aeron aeron;
    private ServedModel model;
    private String nodeEventsChannel = DEFAULT_CHANNEL;
    private int nodeEventsStreamId = DEFAULT_NODE_EVENTS_STREAM_ID;
    private String ingressChannel = DEFAULT_CHANNEL;
    private int ingressStreamId = DEFAULT_INGRESS_STREAM_ID;
    private String egressChannel = DEFAULT_CHANNEL;
    private int egressStreamId = DEFAULT_EGRESS_STREAM_ID;
    private int maxInputLength = DEFAULT_MAX_INPUT_LENGTH;
    private int maxOutputLength = DEFAULT_MAX_OUTPUT_LENGTH;
    private int maxQueuedRequests = DEFAULT_MAX_QUEUED_REQUESTS;
    private long heartbeatTimeoutNs = DEFAULT_HEARTBEAT_TIMEOUT_NS;
    private long queueTimeoutNs = DEFAULT_QUEUE_TIMEOUT_NS;
    private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
    private int maxRecoveries = DEFAULT_MAX_RECOVERIES;
    private Path journalDir;
    private double kvOvercommit = 1.0;
    private boolean prefixCaching = true;
    private double kvAwareBalance = DEFAULT_KV_AWARE_BALANCE;
    private double kvAwareImbalanceFactor = DEFAULT_KV_AWARE_IMBALANCE_FACTOR;
    private long prefixIndexTokens = DEFAULT_PREFIX_INDEX_TOKENS;
    private NanoClock nanoClock = SystemNanoClock.INSTANCE;
    private EpochNanoClock epochNanoClock = new SystemEpochNanoClock();
    private Consumer<String> log = System.err::println;
    private byte[] sharedSecret;

    /** Checks the configuration; throws IllegalStateException naming the first missing or invalid setting. */
    RouterContext conclude() {
        if (aeron == null) {
            throw new IllegalStateException("router needs an Aeron client");
        }
        if (model == null) {
            throw new IllegalStateException("router needs the served model (tokenizer and config)");
        }
        if (maxInputLength <= 0 || maxOutputLength <= 0 || maxQueuedRequests <= 0 || heartbeatTimeoutNs <= 0
                || queueTimeoutNs <= 0 || maxAttempts <= 0 || maxRecoveries < 0 || !(kvOvercommit >= 1)
                || nanoClock == null || epochNanoClock == null || log == null) {
            throw new IllegalStateException("router lengths, queue bound, timeouts and attempts must be positive, the"
                    + " recoveries 0 or more and the KV overcommit at least 1, and the clocks and the log set");
        }
        if (!(kvAwareBalance >= 0) || !(kvAwareImbalanceFactor >= 1) || prefixIndexTokens < 0) {
            throw new IllegalStateException("the KV-aware balance must be 0 or more (got " + kvAwareBalance
                    + "), its imbalance factor at least 1 (got " + kvAwareImbalanceFactor + ") and the prefix index"
                    + " budget 0 or more (got " + prefixIndexTokens + ")");
        }
        return this;
    }

    public Aeron aeron() { return aeron; }
    public RouterContext aeron(Aeron aeron) { this.aeron = aeron; return this; }

    public ServedModel model() { return model; }
    public RouterContext model(ServedModel model) { this.model = model; return this; }

    /** Channel and stream every node publishes its events (hello, heartbeats, tokens) to. */
    public String nodeEventsChannel() { return nodeEventsChannel; }
    public RouterContext nodeEventsChannel(String channel) { this.nodeEventsChannel = channel; return this; }
    public int nodeEventsStreamId() { return nodeEventsStreamId; }
    public RouterContext nodeEventsStreamId(int streamId) { this.nodeEventsStreamId = streamId; return this; }

    /** Channel and stream Aeron clients send GenerateRequest, CancelRequest and ClientHello to. */
    public String ingressChannel() { return ingressChannel; }
    public RouterContext ingressChannel(String channel) { this.ingressChannel = channel; return this; }
    public int ingressStreamId() { return ingressStreamId; }
    public RouterContext ingressStreamId(int streamId) { this.ingressStreamId = streamId; return this; }

    /** Channel and stream the router answers Aeron clients on (over UDP, a dynamic multi-destination channel). */
    public String egressChannel() { return egressChannel; }
    public RouterContext egressChannel(String channel) { this.egressChannel = channel; return this; }
    public int egressStreamId() { return egressStreamId; }
    public RouterContext egressStreamId(int streamId) { this.egressStreamId = streamId; return this; }

    /** Longest prompt accepted, in tokens after the chat template. */
    public int maxInputLength() { return maxInputLength; }
    public RouterContext maxInputLength(int tokens) { this.maxInputLength = tokens; return this; }

    /** Largest max_tokens accepted. */
    public int maxOutputLength() { return maxOutputLength; }
    public RouterContext maxOutputLength(int tokens) { this.maxOutputLength = tokens; return this; }

    /** Requests waiting for a node beyond which new ones are refused at once (OVERLOADED, HTTP 429). */
    public int maxQueuedRequests() { return maxQueuedRequests; }
    public RouterContext maxQueuedRequests(int requests) { this.maxQueuedRequests = requests; return this; }

    public long heartbeatTimeoutNs() { return heartbeatTimeoutNs; }
    public RouterContext heartbeatTimeoutNs(long ns) { this.heartbeatTimeoutNs = ns; return this; }

    public long queueTimeoutNs() { return queueTimeoutNs; }
    public RouterContext queueTimeoutNs(long ns) { this.queueTimeoutNs = ns; return this; }

    /** Prefill/decode attempts per request (re-prefill after preemption, failover, KV failure) before it fails. */
    public int maxAttempts() { return maxAttempts; }
    public RouterContext maxAttempts(int attempts) { this.maxAttempts = attempts; return this; }

    /**
     * Times a request left unfinished by a router that stopped is continued by a restarted one; the next restart
     * fails it with ROUTER_RESTARTED instead (a request that keeps bringing the router down stops doing so). 0 turns
     * recovery off: every unfinished request is reported ROUTER_RESTARTED.
     */
    public int maxRecoveries() { return maxRecoveries; }
    public RouterContext maxRecoveries(int recoveries) { this.maxRecoveries = recoveries; return this; }

    /**
     * How far the router may promise decode nodes' KV pages beyond their size (1: every placed request can reach
     * max_tokens; above 1: more requests run at once, and a decode node that runs out preempts its newest sequence,
     * which the router re-queues as prompt + tokens so far).
     */
    public double kvOvercommit() { return kvOvercommit; }
    public RouterContext kvOvercommit(double factor) { this.kvOvercommit = factor; return this; }

    /**
     * Whether nodes cache prompt prefixes: then the router places by the prefix each node likely holds weighed against
     * its load ({@link PrefixAwarePlacement}); without, by load alone ({@link JsqPlacement}).
     */
    public boolean prefixCaching() { return prefixCaching; }
    public RouterContext prefixCaching(boolean enabled) { this.prefixCaching = enabled; return this; }

    /**
     * Tokens of load one matched prefix token is worth in KV-aware placement (score = matched - balance * load): 0
     * follows the cache alone (up to the imbalance factor), larger values follow load more.
     */
    public double kvAwareBalance() { return kvAwareBalance; }
    public RouterContext kvAwareBalance(double balance) { this.kvAwareBalance = balance; return this; }

    /**
     * KV-aware placement sends a request by load alone when the node holding its prefix carries more than this many
     * times the load of the least loaded candidate plus the prompt.
     */
    public double kvAwareImbalanceFactor() { return kvAwareImbalanceFactor; }
    public RouterContext kvAwareImbalanceFactor(double factor) { this.kvAwareImbalanceFactor = factor; return this; }

    /** Prompt tokens KV-aware placement remembers per node (also at most the node's KV pool), least recent forgotten. */
    public long prefixIndexTokens() { return prefixIndexTokens; }
    public RouterContext prefixIndexTokens(long tokens) { this.prefixIndexTokens = tokens; return this; }

    /**
     * The clock of every interval the router measures or enforces (heartbeat and queue timeouts, time to first
     * token); tests step one by hand.
     */
    public NanoClock nanoClock() { return nanoClock; }
    public RouterContext nanoClock(NanoClock clock) { this.nanoClock = clock; return this; }

    /** Wall-clock time stamped on events the router makes itself (a cancel's final event). */
    public EpochNanoClock epochNanoClock() { return epochNanoClock; }
    public RouterContext epochNanoClock(EpochNanoClock clock) { this.epochNanoClock = clock; return this; }

    /** Chronicle Queue directory for the request journal; null runs without one. */
    public Path journalDir() { return journalDir; }
    public RouterContext journalDir(Path dir) { this.journalDir = dir; return this; }

    /**
     * Where the router's log lines go, on its own thread: one line for every request that ends in an error (its code,
     * router id, attempt count and the nodes of its last attempt) and one for every refused node hello.
     */
    public Consumer<String> log() { return log; }

    /**
     * The deployment's shared secret (at least {@link io.splitserve.sbe.HelloProof#MIN_SECRET_BYTES} bytes), or null
     * for none: with one, a node is registered and an Aeron client's requests are taken only after a hello that proves
     * it ({@link PeerAuthenticator}).
     */
    public byte[] sharedSecret() { return sharedSecret; }
    public RouterContext sharedSecret(byte[] secret) { this.sharedSecret = secret; return this; }
    public RouterContext log(Consumer<String> log) { this.log = log; return this; }
}
