package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.sbe.NodeRole;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Node health stepped one event at a time with hand-set times (heartbeat timeout 100 ns): hello, heartbeats, death
 * by silence or by a closed image, each death reported once, a node that comes back, and the hellos refused.
 */
class NodeRegistryTest {
    private static final long TIMEOUT_NS = 100;

    private final List<Integer> deaths = new ArrayList<>();
    private final List<String> refusals = new ArrayList<>();
    private final List<RecordingNodeCommands> opened = new ArrayList<>();
    private final NodeRegistry registry = new NodeRegistry("demo", TIMEOUT_NS, (channel, streamId) -> {
        final RecordingNodeCommands commands = new RecordingNodeCommands();
        opened.add(commands);
        return commands;
    }).deathListener(node -> {
        assertFalse(node.alive, "a node is dead when its death is reported");
        deaths.add(node.nodeId);
    }).refusalListener((nodeId, reason) -> refusals.add(nodeId + ": " + reason));

    private boolean helloWithEndpoint(int nodeId, byte[] kvEndpoint, long nowNs) {
        return registry.onHello(nodeId, 12, NodeRole.DECODE, 64, 4, "demo", "aeron:ipc", 10_000 + nodeId, "aeron:ipc",
                30_000 + nodeId, "aeron:ipc", 40_000 + nodeId, kvEndpoint, nowNs);
    }

    private boolean hello(int nodeId, int sessionId, NodeRole role, String model, long nowNs) {
        return registry.onHello(nodeId, sessionId, role, 64, 4, model, "aeron:ipc", 10_000 + nodeId, "aeron:ipc",
                30_000 + nodeId, "aeron:ipc", 40_000 + nodeId, new byte[0], nowNs);
    }

    @Test
    void helloAddsANodeOfTheServedModelOnly() {
        assertFalse(hello(1, 11, NodeRole.PREFILL, "other-model", 0));
        assertFalse(hello(1, 11, NodeRole.PREFILL, "other-model", 1));
        assertNull(registry.node(1));
        assertEquals(List.of("1: it serves model 'other-model', not 'demo'"), refusals, "once, though repeated");
        assertTrue(hello(1, 11, NodeRole.PREFILL, "demo", 0));
        assertTrue(hello(101, 12, NodeRole.DECODE, "demo", 0));
        final NodeState decode = registry.node(101);
        assertTrue(decode.alive);
        assertEquals(64, decode.reportedFreePages, "a new node counts as empty until its first heartbeat");
        assertEquals(Map.of("prefill", 1, "decode", 1, "colocated", 0), registry.liveCounts());
        assertTrue(registry.anyKvNodeAlive());
        assertEquals(2, opened.size());
    }

    @Test
    void silentNodeDiesOnceAfterTheHeartbeatTimeout() {
        hello(1, 11, NodeRole.PREFILL, "demo", 0);
        hello(101, 12, NodeRole.DECODE, "demo", 0);
        registry.onHeartbeat(101, 30, 80);
        assertEquals(0, registry.checkHeartbeats(100), "exactly the timeout is not yet past it");
        assertEquals(1, registry.checkHeartbeats(101));
        assertEquals(List.of(1), deaths);
        assertEquals(30, registry.node(101).reportedFreePages);
        assertEquals(0, registry.checkHeartbeats(180), "node 101's last heartbeat was at 80");
        assertEquals(1, registry.checkHeartbeats(181));
        assertEquals(0, registry.checkHeartbeats(10_000), "the dead are not reported again");
        assertEquals(List.of(1, 101), deaths);
        assertFalse(registry.anyKvNodeAlive());
    }

    @Test
    void deadNodeHoldsNothingAndComesBackEmptyWithItsNextHeartbeat() {
        hello(1, 11, NodeRole.PREFILL, "demo", 0);
        final NodeState node = registry.node(1);
        node.pendingPromptTokens = 40;
        registry.checkHeartbeats(TIMEOUT_NS + 1);
        assertEquals(0, node.pendingPromptTokens);
        node.pendingPromptTokens = 5; // whatever was left is forgotten when it comes back
        registry.onHeartbeat(1, 64, 500);
        assertTrue(node.alive);
        assertEquals(0, node.pendingPromptTokens);
        assertEquals(0, registry.checkHeartbeats(600));
    }

    @Test
    void closedEventsImageKillsTheNodeOfThatSessionOnly() {
        hello(1, 11, NodeRole.PREFILL, "demo", 0);
        hello(101, 12, NodeRole.DECODE, "demo", 0);
        assertEquals(0, registry.onEventsImageClosed(99));
        assertEquals(1, registry.onEventsImageClosed(12));
        assertEquals(List.of(101), deaths);
        assertEquals(0, registry.onEventsImageClosed(12), "already dead");
        hello(1, 21, NodeRole.PREFILL, "demo", 5); // node 1 restarted: a new events session
        assertEquals(0, registry.onEventsImageClosed(11), "the image of node 1's earlier run closing is no death");
        assertTrue(registry.node(1).alive);
        assertEquals(1, registry.onEventsImageClosed(21));
        assertEquals(List.of(101, 1), deaths);
    }

    @Test
    void helloOnAnotherControlStreamReplacesTheCommandStream() {
        hello(1, 11, NodeRole.PREFILL, "demo", 0);
        final NodeCommands first = registry.node(1).commands;
        hello(1, 11, NodeRole.PREFILL, "demo", 1);
        assertSame(first, registry.node(1).commands, "the same control stream is kept");
        registry.onHello(1, 11, NodeRole.PREFILL, 64, 4, "demo", "aeron:ipc", 77, "aeron:ipc", 30_001, "aeron:ipc",
                40_001, new byte[0], 2);
        assertNotSame(first, registry.node(1).commands);
        assertTrue(opened.get(0).closed);
        registry.close();
        assertTrue(opened.get(1).closed);
    }

    @Test
    void kvEndpointFromTheHelloIsKeptAsGivenAndAnOversizedOneIsRefused() {
        final byte[] endpoint = new byte[NodeRegistry.MAX_KV_ENDPOINT_BYTES];
        for (int i = 0; i < endpoint.length; i++) {
            endpoint[i] = (byte) (i * 7);
        }
        assertTrue(helloWithEndpoint(101, endpoint, 0), "exactly the limit is allowed");
        assertArrayEquals(endpoint, registry.node(101).kvEndpoint);
        assertFalse(helloWithEndpoint(102, new byte[NodeRegistry.MAX_KV_ENDPOINT_BYTES + 1], 0));
        assertNull(registry.node(102), "a refused hello adds no node");
        assertFalse(helloWithEndpoint(101, new byte[NodeRegistry.MAX_KV_ENDPOINT_BYTES + 1], 1));
        assertArrayEquals(endpoint, registry.node(101).kvEndpoint, "a refused hello changes nothing");
        assertEquals(List.of("102: its KV endpoint of 1025 bytes exceeds 1024",
                "101: its KV endpoint of 1025 bytes exceeds 1024"), refusals);
        assertTrue(helloWithEndpoint(101, new byte[0], 2));
        assertEquals(0, registry.node(101).kvEndpoint.length, "a node that no longer announces one has none");
    }
}
