package io.splitserve.prefill;

import io.aeron.Aeron;
import io.splitserve.engine.EngineOptions;
import io.splitserve.kvtransfer.KvPathMode;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Configuration of a {@link PrefillNodeAgent}, as a context object with defaults: everything on {@code aeron:ipc}
 * (router events on stream 100, this node's control stream {@code 10000 + nodeId}), a prefill budget of 2048 prompt
 * tokens per batch, heartbeats every 100 ms, KV chunks of 256 KiB (they fit the max message of a 16 MiB term) and
 * KV leases of 5 s. Only the Aeron client and the model directory have no default.
 */
public final class PrefillNodeContext {
    public static final String DEFAULT_CHANNEL = "aeron:ipc";
    public static final int DEFAULT_ROUTER_STREAM_ID = 100;
    public static final int CONTROL_STREAM_BASE = 10000;
    public static final int DEFAULT_PREFILL_TOKEN_BUDGET = 2048;
    public static final long DEFAULT_HEARTBEAT_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(100);
    public static final int DEFAULT_KV_CHUNK_BYTES = 256 * 1024;
    public static final long DEFAULT_KV_LEASE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(5);
    public static final long DEFAULT_CONNECT_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(5);
    /**
     * Share of a GPU prefill node's KV memory set aside to export KV from (the GPU KV path): its own pages are only
     * borrowed for the length of a prefill, while exported KV waits there until every decode peer copied it.
     */
    public static final double DEFAULT_KV_EXPORT_FRACTION = 0.5;

    private Aeron aeron;
    private int nodeId = 1;
    private Path modelDir;
    private String modelName;
    private byte[] sharedSecret;
    private EngineOptions engineOptions = new EngineOptions();
    private int prefillTokenBudget = DEFAULT_PREFILL_TOKEN_BUDGET;
    private String routerChannel = DEFAULT_CHANNEL;
    private int routerStreamId = DEFAULT_ROUTER_STREAM_ID;
    private String controlChannel = DEFAULT_CHANNEL;
    private int controlStreamId;
    private long heartbeatIntervalNs = DEFAULT_HEARTBEAT_INTERVAL_NS;
    private int kvChunkBytes = DEFAULT_KV_CHUNK_BYTES;
    private long kvLeaseTimeoutNs = DEFAULT_KV_LEASE_TIMEOUT_NS;
    private long connectTimeoutNs = DEFAULT_CONNECT_TIMEOUT_NS;
    private KvPathMode kvPathMode = KvPathMode.AUTO;
    private double kvExportFraction = DEFAULT_KV_EXPORT_FRACTION;
    private Consumer<String> log = System.err::println;

    /** Checks the configuration; throws IllegalStateException naming the first missing or invalid setting. */
    PrefillNodeContext conclude() {
        if (aeron == null) {
            throw new IllegalStateException("prefill node needs an Aeron client");
        }
        if (modelDir == null) {
            throw new IllegalStateException("prefill node needs a model directory");
        }
        if (nodeId <= 0 || prefillTokenBudget <= 0 || heartbeatIntervalNs <= 0 || kvChunkBytes <= 0) {
            throw new IllegalStateException("prefill node id, token budget, heartbeat interval and chunk size must be positive");
        }
        if (kvPathMode == null || !(kvExportFraction > 0 && kvExportFraction < 1)) {
            throw new IllegalStateException("prefill node needs a KV path mode and an export fraction in (0, 1)");
        }
        if (modelName == null) {
            modelName = modelDir.getFileName().toString();
        }
        if (controlStreamId == 0) {
            controlStreamId = CONTROL_STREAM_BASE + nodeId;
        }
        return this;
    }

    public Aeron aeron() { return aeron; }
    public PrefillNodeContext aeron(Aeron aeron) { this.aeron = aeron; return this; }

    /** Unique among the router's nodes. */
    public int nodeId() { return nodeId; }
    public PrefillNodeContext nodeId(int nodeId) { this.nodeId = nodeId; return this; }

    public Path modelDir() { return modelDir; }
    public PrefillNodeContext modelDir(Path modelDir) { this.modelDir = modelDir; return this; }

    /** Name the router serves the model under; the directory name by default. */
    public String modelName() { return modelName; }
    public PrefillNodeContext modelName(String modelName) { this.modelName = modelName; return this; }

    /** Page size and KV memory of the engine; prefill borrows pages only for the length of one batch. */
    public EngineOptions engineOptions() { return engineOptions; }
    public PrefillNodeContext engineOptions(EngineOptions engineOptions) { this.engineOptions = engineOptions; return this; }

    /** Prompt tokens batched into one prefill; a longer single prompt still runs, alone. */
    public int prefillTokenBudget() { return prefillTokenBudget; }
    public PrefillNodeContext prefillTokenBudget(int budget) { this.prefillTokenBudget = budget; return this; }

    /** Channel and stream the router listens on for node events. */
    public String routerChannel() { return routerChannel; }
    public PrefillNodeContext routerChannel(String channel) { this.routerChannel = channel; return this; }
    public int routerStreamId() { return routerStreamId; }
    public PrefillNodeContext routerStreamId(int streamId) { this.routerStreamId = streamId; return this; }

    /** Channel and stream this node takes PrefillRequests on (stream {@code 10000 + nodeId} unless set). */
    public String controlChannel() { return controlChannel; }
    public PrefillNodeContext controlChannel(String channel) { this.controlChannel = channel; return this; }
    public int controlStreamId() { return controlStreamId; }
    public PrefillNodeContext controlStreamId(int streamId) { this.controlStreamId = streamId; return this; }

    public long heartbeatIntervalNs() { return heartbeatIntervalNs; }
    public PrefillNodeContext heartbeatIntervalNs(long ns) { this.heartbeatIntervalNs = ns; return this; }

    public int kvChunkBytes() { return kvChunkBytes; }
    public PrefillNodeContext kvChunkBytes(int bytes) { this.kvChunkBytes = bytes; return this; }

    public long kvLeaseTimeoutNs() { return kvLeaseTimeoutNs; }
    public PrefillNodeContext kvLeaseTimeoutNs(long ns) { this.kvLeaseTimeoutNs = ns; return this; }

    /** How KV travels to decode peers: GPU to GPU where it can ({@code auto}), always ({@code gpu}), or via the host. */
    public KvPathMode kvPathMode() { return kvPathMode; }
    public PrefillNodeContext kvPathMode(KvPathMode mode) { this.kvPathMode = mode; return this; }

    /** Share of the engine's KV memory exported for the GPU path (CUDA only; unused with {@code --kv-path host}). */
    public double kvExportFraction() { return kvExportFraction; }
    public PrefillNodeContext kvExportFraction(double fraction) { this.kvExportFraction = fraction; return this; }

    /** Where the node's one-line notices go (the KV path chosen per peer, export fallbacks). */
    public Consumer<String> log() { return log; }
    public PrefillNodeContext log(Consumer<String> log) { this.log = log; return this; }

    /** How long a request waits for its decode node's KV stream to connect before it fails FAILED_DISCONNECTED. */
    public long connectTimeoutNs() { return connectTimeoutNs; }
    public PrefillNodeContext connectTimeoutNs(long ns) { this.connectTimeoutNs = ns; return this; }

    /**
     * The deployment's shared secret, or null for none: this node's NodeHello then proves it to the router, which with
     * a secret of its own refuses a hello without that proof.
     */
    public byte[] sharedSecret() { return sharedSecret; }
    public PrefillNodeContext sharedSecret(byte[] secret) { this.sharedSecret = secret; return this; }
}
