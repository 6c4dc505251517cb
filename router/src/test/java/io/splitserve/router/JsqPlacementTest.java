package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.splitserve.sbe.NodeRole;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Placement decisions read from hand-built node tables (page size 4): which prefill node (join-shortest-queue on
 * pending prompt tokens), which decode node (most unpromised pages that hold prompt + max new tokens and whose last
 * heartbeat has room for the prompt), when a colocated node, and why nothing.
 */
class JsqPlacementTest {
    private final List<NodeState> table = new ArrayList<>();
    private final JsqPlacement policy = new JsqPlacement(1.0);

    private NodeState node(int id, NodeRole role, int totalPages) {
        final NodeState node = new NodeState(id);
        node.role = role;
        node.totalPages = totalPages;
        node.reportedFreePages = totalPages;
        node.pageSize = 4;
        node.alive = true;
        node.commands = new RecordingNodeCommands();
        table.add(node);
        return node;
    }

    private static int[] prompt(int tokens) {
        return new int[tokens];
    }

    @Test
    void prefillNodeWithTheFewestPendingPromptTokensGetsTheRequest() {
        final NodeState busy = node(1, NodeRole.PREFILL, 0);
        final NodeState idle = node(2, NodeRole.PREFILL, 0);
        final NodeState decode = node(101, NodeRole.DECODE, 100);
        busy.pendingPromptTokens = 50;
        idle.pendingPromptTokens = 10;
        Placement p = policy.place(table, prompt(8), 16);
        assertEquals(Placement.Outcome.PLACE, p.outcome);
        assertSame(idle, p.prefill);
        assertSame(decode, p.decode);
        idle.pendingPromptTokens = 60; // now the other queue is shorter
        assertSame(busy, policy.place(table, prompt(8), 16).prefill);
    }

    @Test
    void decodeNodeWithTheMostUnpromisedPagesGetsTheRequest() {
        node(1, NodeRole.PREFILL, 0);
        final NodeState small = node(101, NodeRole.DECODE, 40);
        final NodeState large = node(102, NodeRole.DECODE, 100);
        assertSame(large, policy.place(table, prompt(8), 16).decode);
        large.committedPages = 70; // 30 left, against 40
        assertSame(small, policy.place(table, prompt(8), 16).decode);
        small.reportedFreePages = 2; // its heartbeat has no room for 8 prompt tokens + 1 (3 pages) now
        assertSame(large, policy.place(table, prompt(8), 16).decode);
    }

    @Test
    void deadOrDisconnectedNodesAreNotUsed() {
        final NodeState prefill = node(1, NodeRole.PREFILL, 0);
        final NodeState otherPrefill = node(2, NodeRole.PREFILL, 0);
        final NodeState decode = node(101, NodeRole.DECODE, 100);
        final NodeState otherDecode = node(102, NodeRole.DECODE, 50);
        decode.alive = false;
        ((RecordingNodeCommands) prefill.commands).connected = false;
        otherPrefill.pendingPromptTokens = 1_000;
        final Placement p = policy.place(table, prompt(8), 16);
        assertSame(otherPrefill, p.prefill);
        assertSame(otherDecode, p.decode);
    }

    @Test
    void notEnoughPagesAnywhereWaits() {
        node(1, NodeRole.PREFILL, 0);
        final NodeState decode = node(101, NodeRole.DECODE, 10);
        decode.committedPages = 8; // 2 of 10 pages unpromised; 16 tokens need 4
        final Placement p = policy.place(table, prompt(8), 16);
        assertEquals(Placement.Outcome.WAIT, p.outcome);
        decode.committedPages = 6;
        assertEquals(Placement.Outcome.PLACE, policy.place(table, prompt(8), 16).outcome);
    }

    @Test
    void overcommitPromisesMorePagesThanTheNodeHas() {
        node(1, NodeRole.PREFILL, 0);
        final NodeState decode = node(101, NodeRole.DECODE, 10);
        decode.committedPages = 8;
        assertEquals(Placement.Outcome.WAIT, policy.place(table, prompt(8), 16).outcome);
        assertEquals(Placement.Outcome.PLACE, new JsqPlacement(2.0).place(table, prompt(8), 16).outcome); // 20 - 8 = 12 left
        assertThrows(IllegalArgumentException.class, () -> new JsqPlacement(0.5));
    }

    @Test
    void requestLargerThanEveryDecodeNodeNeverFits() {
        node(1, NodeRole.PREFILL, 0);
        node(101, NodeRole.DECODE, 10);
        node(102, NodeRole.DECODE, 12);
        final Placement p = policy.place(table, prompt(8), 49); // 13 pages
        assertEquals(Placement.Outcome.NEVER_FITS, p.outcome);
        assertEquals(12, p.largestKvNodePages);
        assertEquals(Placement.Outcome.PLACE, policy.place(table, prompt(8), 48).outcome);
    }

    @Test
    void withoutALiveDecodeNodeThereIsNoKvNode() {
        node(1, NodeRole.PREFILL, 0);
        assertEquals(Placement.Outcome.NO_KV_NODE, policy.place(table, prompt(8), 16).outcome);
        node(101, NodeRole.DECODE, 100).alive = false;
        assertEquals(Placement.Outcome.NO_KV_NODE, policy.place(table, prompt(8), 16).outcome);
    }

    @Test
    void colocatedNodeTakesTheRequestWhenNoPrefillDecodePairCan() {
        final NodeState colocated = node(201, NodeRole.PREFILL_AND_DECODE, 50);
        Placement p = policy.place(table, prompt(8), 16);
        assertSame(colocated, p.prefill);
        assertSame(colocated, p.decode);
        final NodeState decode = node(101, NodeRole.DECODE, 100);
        assertSame(colocated, policy.place(table, prompt(8), 16).decode, "a decode node without a prefill node is no pair");
        final NodeState prefill = node(1, NodeRole.PREFILL, 0);
        p = policy.place(table, prompt(8), 16);
        assertSame(prefill, p.prefill);
        assertSame(decode, p.decode);
    }
}
