package io.splitserve.router;

import io.splitserve.sbe.NodeRole;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import org.agrona.CloseHelper;
import org.agrona.collections.Int2ObjectHashMap;

/**
 * The node table and each node's health: a node joins (or rejoins) with NodeHello, stays alive while heartbeats
 * come within the heartbeat timeout, and dies when they stop or when the image of its events stream closes. Each
 * death is reported once to the {@link DeathListener}, with the node already marked dead, so the caller can move the
 * node's attempts; afterwards the node holds no prompt tokens or pages. A NodeHello the router cannot use (another
 * model, a page size below 1, a KV endpoint over {@link #MAX_KV_ENDPOINT_BYTES}) changes nothing and is reported to
 * the {@link RefusalListener} with its reason (once, though the node repeats it). Time is what the caller passes in.
 * Router-thread only.
 */
final class NodeRegistry implements AutoCloseable {
    /** Opens the outbound command stream to a node's control channel. */
    @FunctionalInterface
    interface CommandsFactory {
        NodeCommands open(String channel, int streamId);
    }

    /** The longest KV endpoint a node may announce; the router copies it into every PrefillRequest for the node. */
    static final int MAX_KV_ENDPOINT_BYTES = 1024;

    /** Hears of a refused NodeHello with the reason in words, once until the node's hello changes or is accepted. */
    @FunctionalInterface
    interface RefusalListener {
        void onHelloRefused(int nodeId, String reason);
    }

    /** Hears of each node that died, once per death, after it was marked dead. */
    @FunctionalInterface
    interface DeathListener {
        void onNodeDied(NodeState node);
    }

    private final String modelName;
    private final long heartbeatTimeoutNs;
    private final CommandsFactory commandsFactory;
    private final Int2ObjectHashMap<NodeState> nodes = new Int2ObjectHashMap<>();
    private DeathListener deathListener = node -> { };
    private RefusalListener refusalListener = (nodeId, reason) -> { };
    private final Int2ObjectHashMap<String> lastRefusal = new Int2ObjectHashMap<>();

    NodeRegistry(String modelName, long heartbeatTimeoutNs, CommandsFactory commandsFactory) {
        this.modelName = modelName;
        this.heartbeatTimeoutNs = heartbeatTimeoutNs;
        this.commandsFactory = commandsFactory;
    }

    NodeRegistry deathListener(DeathListener listener) {
        this.deathListener = listener;
        return this;
    }

    NodeRegistry refusalListener(RefusalListener listener) {
        this.refusalListener = listener;
        return this;
    }

    /**
     * A node announced itself (first time, again after a restart, or again after being declared dead): it is alive
     * from {@code nowNs}, and {@code kvEndpoint} (kept as given, not copied) is what PrefillRequests naming it carry.
     * Returns false, changing nothing and telling the refusal listener why, for a node of another model, an invalid
     * page size or a KV endpoint longer than {@link #MAX_KV_ENDPOINT_BYTES}.
     */
    boolean onHello(int nodeId, int eventsSessionId, NodeRole role, int totalPages, int pageSize, String model,
                    String controlChannel, int controlStreamId, String kvChannel, int kvStreamId, String kvAckChannel,
                    int kvAckStreamId, byte[] kvEndpoint, long nowNs) {
        final String refusal = !modelName.equals(model) ? "it serves model '" + model + "', not '" + modelName + "'"
                : pageSize <= 0 ? "page size " + pageSize + " is not positive"
                : kvEndpoint.length > MAX_KV_ENDPOINT_BYTES ? "its KV endpoint of " + kvEndpoint.length
                        + " bytes exceeds " + MAX_KV_ENDPOINT_BYTES
                : null;
        if (refusal != null) {
            if (!refusal.equals(lastRefusal.put(nodeId, refusal))) {
                refusalListener.onHelloRefused(nodeId, refusal); // nodes repeat their hello: each reason once
            }
            return false;
        }
        lastRefusal.remove(nodeId);
        NodeState node = nodes.get(nodeId);
        if (node == null) {
            node = new NodeState(nodeId);
            nodes.put(nodeId, node);
        }
        if (node.commands == null || !controlChannel.equals(node.controlChannel)
                || controlStreamId != node.controlStreamId) {
            CloseHelper.close(node.commands);
            node.commands = commandsFactory.open(controlChannel, controlStreamId);
        }
        node.role = role;
        node.eventsSessionId = eventsSessionId;
        node.controlChannel = controlChannel;
        node.controlStreamId = controlStreamId;
        node.kvChannel = kvChannel;
        node.kvStreamId = kvStreamId;
        node.kvAckChannel = kvAckChannel;
        node.kvAckStreamId = kvAckStreamId;
        node.kvEndpoint = kvEndpoint;
        node.totalPages = totalPages;
        node.pageSize = pageSize;
        if (!node.alive) {
            node.reportedFreePages = totalPages; // until its first heartbeat says otherwise
        }
        revive(node, nowNs);
        return true;
    }

    /** Whether a node of this id said a hello this router accepted (alive now or not). */
    boolean knows(int nodeId) {
        return nodes.containsKey(nodeId);
    }

    /** A heartbeat from a known node: its free pages now, and it is alive. Unknown nodes must say hello first. */
    void onHeartbeat(int nodeId, int freePages, long nowNs) {
        final NodeState node = nodes.get(nodeId);
        if (node != null) {
            node.reportedFreePages = freePages;
            revive(node, nowNs);
        }
    }

    /** What a decode node's heartbeat said of the KV messages it refused since it started. */
    void onKvRefusedReport(int nodeId, long refused) {
        final NodeState node = nodes.get(nodeId);
        if (node != null) {
            node.kvRefused = refused;
        }
    }

    /**
     * What a node's heartbeat said of its prefix cache: pages it holds, tokens looked up and found, evictions, and (a
     * prefill node) transfers sent again whole because their decode node had lost the prefix they left out.
     */
    void onPrefixCacheReport(int nodeId, int cachedPages, long lookupTokens, long hitTokens, long evictions,
                             long resends) {
        final NodeState node = nodes.get(nodeId);
        if (node != null) {
            node.cachedPages = cachedPages;
            node.prefixLookupTokens = lookupTokens;
            node.prefixHitTokens = hitTokens;
            node.prefixEvictions = evictions;
            node.prefixResends = resends;
        }
    }

    /**
     * The image of a node's events stream closed (its publication or its process went away): the live node whose
     * hello came on that session dies. An image of an earlier session of a node that has since said hello again
     * does not kill it. Returns the number of nodes that died (0 or 1).
     */
    int onEventsImageClosed(int sessionId) {
        for (NodeState node : nodes.values()) {
            if (node.alive && node.eventsSessionId == sessionId) {
                die(node);
                return 1;
            }
        }
        return 0;
    }

    /** Declares dead every live node not heard from for longer than the heartbeat timeout; returns how many. */
    int checkHeartbeats(long nowNs) {
        int died = 0;
        for (NodeState node : nodes.values()) {
            if (node.alive && nowNs - node.lastHeardNs > heartbeatTimeoutNs) {
                die(node);
                died++;
            }
        }
        return died;
    }

    private void die(NodeState node) {
        node.alive = false;
        deathListener.onNodeDied(node);
        node.pendingPromptTokens = 0;
        node.committedPages = 0;
    }

    private static void revive(NodeState node, long nowNs) {
        node.lastHeardNs = nowNs;
        if (!node.alive) {
            node.alive = true;
            node.pendingPromptTokens = 0;
            node.committedPages = 0;
        }
    }

    /** Every node ever accepted, alive or dead: the table {@link PlacementPolicy} reads. */
    Collection<NodeState> nodes() {
        return nodes.values();
    }

    NodeState node(int nodeId) {
        return nodes.get(nodeId);
    }

    /** Whether any live node can hold decoding sequences. */
    boolean anyKvNodeAlive() {
        for (NodeState node : nodes.values()) {
            if (node.alive && node.holdsKv()) {
                return true;
            }
        }
        return false;
    }

    /** Live nodes by role ("prefill", "decode", "colocated"). */
    Map<String, Integer> liveCounts() {
        final Map<String, Integer> counts = new HashMap<>(Map.of("prefill", 0, "decode", 0, "colocated", 0));
        for (NodeState node : nodes.values()) {
            if (node.alive) {
                counts.merge(node.prefills() ? "prefill" : node.decodes() ? "decode" : "colocated", 1, Integer::sum);
            }
        }
        return counts;
    }

    /** For error messages: how many prefill-capable and decode-capable nodes are alive. */
    String describeLiveNodes() {
        int prefill = 0;
        int decode = 0;
        for (NodeState node : nodes.values()) {
            if (node.alive) {
                prefill += node.decodes() ? 0 : 1;
                decode += node.prefills() ? 0 : 1;
            }
        }
        return prefill + " prefill-capable and " + decode + " decode-capable nodes alive";
    }

    @Override
    public void close() {
        for (NodeState node : nodes.values()) {
            CloseHelper.close(node.commands);
        }
    }
}
