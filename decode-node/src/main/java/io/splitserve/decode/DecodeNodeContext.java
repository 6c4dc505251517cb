package io.splitserve.decode;

import io.splitserve.kvtransfer.KvReceiverContext;
import io.aeron.Aeron;
import io.splitserve.engine.EngineOptions;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Configuration of a {@link DecodeNodeAgent}, as a context object with defaults: everything on {@code aeron:ipc}
 * (router events on stream 100; this node's control stream {@code 20000 + nodeId}, KV stream {@code 30000 + nodeId},
 * KV ack stream {@code 40000 + nodeId}), a running batch of at most 64 sequences, heartbeats every 100 ms, KV
 * imported into the engine's pages layer by layer as it arrives, and KV that arrives without its DecodeAdmit released
 * after 5 s, and no KV endpoint. With {@link #colocated(boolean)} the node also prefills (chunked, within the engine's prefill budget) and
 * needs no KV from elsewhere. Only the Aeron client and the model directory have no default.
 */
public final class DecodeNodeContext {
    public static final String DEFAULT_CHANNEL = "aeron:ipc";
    public static final int DEFAULT_ROUTER_STREAM_ID = 100;
    public static final int CONTROL_STREAM_BASE = 20000;
    public static final int KV_STREAM_BASE = 30000;
    public static final int KV_ACK_STREAM_BASE = 40000;
    public static final int DEFAULT_MAX_BATCH_SIZE = 64;
    public static final long DEFAULT_HEARTBEAT_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(100);
    public static final long DEFAULT_ORPHAN_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(5);
    /** The longest KV endpoint the router accepts in a NodeHello. */
    public static final int MAX_KV_ENDPOINT_BYTES = 1024;

    private Aeron aeron;
    private int nodeId = 1;
    private Path modelDir;
    private String modelName;
    private byte[] sharedSecret;
    private EngineOptions engineOptions = new EngineOptions();
    private int maxBatchSize = DEFAULT_MAX_BATCH_SIZE;
    private boolean colocated;
    private boolean kvLayerImport = true;
    private String routerChannel = DEFAULT_CHANNEL;
    private int routerStreamId = DEFAULT_ROUTER_STREAM_ID;
    private String controlChannel = DEFAULT_CHANNEL;
    private int controlStreamId;
    private String kvChannel = DEFAULT_CHANNEL;
    private int kvStreamId;
    private String kvAckChannel = DEFAULT_CHANNEL;
    private String kvAckSubscribeChannel;
    private int kvAckStreamId;
    private long heartbeatIntervalNs = DEFAULT_HEARTBEAT_INTERVAL_NS;
    private long kvTransferTimeoutNs = KvReceiverContext.DEFAULT_TRANSFER_TIMEOUT_NS;
    private long orphanTimeoutNs = DEFAULT_ORPHAN_TIMEOUT_NS;
    private byte[] kvEndpoint = new byte[0];

    /** Checks the configuration; throws IllegalStateException naming the first missing or invalid setting. */
    DecodeNodeContext conclude() {
        if (aeron == null) {
            throw new IllegalStateException("decode node needs an Aeron client");
        }
        if (modelDir == null) {
            throw new IllegalStateException("decode node needs a model directory");
        }
        if (nodeId <= 0 || maxBatchSize <= 0 || heartbeatIntervalNs <= 0 || kvTransferTimeoutNs <= 0 || orphanTimeoutNs <= 0) {
            throw new IllegalStateException("decode node id, max batch size and intervals must be positive");
        }
        if (kvEndpoint == null || kvEndpoint.length > MAX_KV_ENDPOINT_BYTES) {
            throw new IllegalStateException("decode node KV endpoint must be at most " + MAX_KV_ENDPOINT_BYTES
                    + " bytes (the router refuses a longer one), got "
                    + (kvEndpoint == null ? "none" : kvEndpoint.length + " bytes"));
        }
        if (modelName == null) {
            modelName = modelDir.getFileName().toString();
        }
        controlStreamId = controlStreamId == 0 ? CONTROL_STREAM_BASE + nodeId : controlStreamId;
        kvStreamId = kvStreamId == 0 ? KV_STREAM_BASE + nodeId : kvStreamId;
        kvAckStreamId = kvAckStreamId == 0 ? KV_ACK_STREAM_BASE + nodeId : kvAckStreamId;
        kvAckSubscribeChannel = kvAckSubscribeChannel == null ? kvAckChannel : kvAckSubscribeChannel;
        return this;
    }

    public Aeron aeron() { return aeron; }
    public DecodeNodeContext aeron(Aeron aeron) { this.aeron = aeron; return this; }

    /** Unique among the router's nodes. */
    public int nodeId() { return nodeId; }
    public DecodeNodeContext nodeId(int nodeId) { this.nodeId = nodeId; return this; }

    public Path modelDir() { return modelDir; }
    public DecodeNodeContext modelDir(Path modelDir) { this.modelDir = modelDir; return this; }

    /** Name the router serves the model under; the directory name by default. */
    public String modelName() { return modelName; }
    public DecodeNodeContext modelName(String modelName) { this.modelName = modelName; return this; }

    /** Page size and KV memory of the decode engine (its page count bounds what can run at once). */
    public EngineOptions engineOptions() { return engineOptions; }
    public DecodeNodeContext engineOptions(EngineOptions options) { this.engineOptions = options; return this; }

    /** Most sequences decoded in one step; admitted KV waits (holding its pages) for room. */
    public int maxBatchSize() { return maxBatchSize; }
    public DecodeNodeContext maxBatchSize(int maxBatchSize) { this.maxBatchSize = maxBatchSize; return this; }

    /** Prefill and decode in this one node (the non-disaggregated baseline): prompts come in PrefillRequests. */
    public boolean colocated() { return colocated; }
    public DecodeNodeContext colocated(boolean colocated) { this.colocated = colocated; return this; }

    /**
     * True: each layer of arriving KV is copied into the engine's pages as soon as its K and V are complete, so
     * admission waits only for the last layer. False: the whole sequence is copied at admission.
     */
    public boolean kvLayerImport() { return kvLayerImport; }
    public DecodeNodeContext kvLayerImport(boolean kvLayerImport) { this.kvLayerImport = kvLayerImport; return this; }

    public String routerChannel() { return routerChannel; }
    public DecodeNodeContext routerChannel(String channel) { this.routerChannel = channel; return this; }
    public int routerStreamId() { return routerStreamId; }
    public DecodeNodeContext routerStreamId(int streamId) { this.routerStreamId = streamId; return this; }

    /** Channel and stream this node takes DecodeAdmit and CancelRequest on. */
    public String controlChannel() { return controlChannel; }
    public DecodeNodeContext controlChannel(String channel) { this.controlChannel = channel; return this; }
    public int controlStreamId() { return controlStreamId; }
    public DecodeNodeContext controlStreamId(int streamId) { this.controlStreamId = streamId; return this; }

    /** Channel and stream prefill nodes send this node's KV on. */
    public String kvChannel() { return kvChannel; }
    public DecodeNodeContext kvChannel(String channel) { this.kvChannel = channel; return this; }
    public int kvStreamId() { return kvStreamId; }
    public DecodeNodeContext kvStreamId(int streamId) { this.kvStreamId = streamId; return this; }

    /** Channel this node publishes KV acks on (over UDP, a dynamic multi-destination channel). */
    public String kvAckChannel() { return kvAckChannel; }
    public DecodeNodeContext kvAckChannel(String channel) { this.kvAckChannel = channel; return this; }

    /** Channel KV senders subscribe to for this node's acks, announced to the router; the ack channel unless set. */
    public String kvAckSubscribeChannel() { return kvAckSubscribeChannel; }
    public DecodeNodeContext kvAckSubscribeChannel(String channel) { this.kvAckSubscribeChannel = channel; return this; }

    public int kvAckStreamId() { return kvAckStreamId; }
    public DecodeNodeContext kvAckStreamId(int streamId) { this.kvAckStreamId = streamId; return this; }

    public long heartbeatIntervalNs() { return heartbeatIntervalNs; }
    public DecodeNodeContext heartbeatIntervalNs(long ns) { this.heartbeatIntervalNs = ns; return this; }

    /**
     * Silence after which an incoming KV transfer fails FAILED_TIMEOUT ({@link KvReceiverContext#transferTimeoutNs()}:
     * its sender's keep-alives break the silence while it computes); default 2 s.
     */
    public long kvTransferTimeoutNs() { return kvTransferTimeoutNs; }
    public DecodeNodeContext kvTransferTimeoutNs(long ns) { this.kvTransferTimeoutNs = ns; return this; }

    /**
     * Where this node's KV memory lives (host and GPU), announced in its NodeHello; the router passes the bytes on
     * unread in every PrefillRequest that sends KV here. Empty (the default) when unknown; at most
     * {@link #MAX_KV_ENDPOINT_BYTES}.
     */
    public byte[] kvEndpoint() { return kvEndpoint; }
    public DecodeNodeContext kvEndpoint(byte[] kvEndpoint) { this.kvEndpoint = kvEndpoint; return this; }

    /** How long verified KV waits for its DecodeAdmit (or a DecodeAdmit for its KV) before it is dropped. */
    public long orphanTimeoutNs() { return orphanTimeoutNs; }
    public DecodeNodeContext orphanTimeoutNs(long ns) { this.orphanTimeoutNs = ns; return this; }

    /**
     * The deployment's shared secret, or null for none: this node's NodeHello then proves it to the router, which with
     * a secret of its own refuses a hello without that proof.
     */
    public byte[] sharedSecret() { return sharedSecret; }
    public DecodeNodeContext sharedSecret(byte[] secret) { this.sharedSecret = secret; return this; }
}
