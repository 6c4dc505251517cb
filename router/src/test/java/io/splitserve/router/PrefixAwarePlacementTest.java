package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.sbe.NodeRole;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * KV-aware placement stepped one request at a time on hand-built node tables (page size 4, prompts of 32 tokens):
 * a repeated prompt goes back to the nodes holding its prefix, a new prompt goes by load, a much busier holder loses
 * to an idle node, the balance tunes the trade, a dead node's prefixes are forgotten, and colocated nodes are chosen
 * the same way. Nodes 1-2 prefill, 101-102 decode, 201-202 colocated.
 */
class PrefixAwarePlacementTest {
    private static final int[] SHARED = prompt(1);
    private static final int[] OTHER = prompt(2);

    private final List<NodeState> table = new ArrayList<>();

    private static int[] prompt(int seed) {
        final int[] tokens = new int[32];
        Arrays.setAll(tokens, i -> seed * 1000 + i);
        return tokens;
    }

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

    private static PrefixAwarePlacement policy(double balance) {
        return new PrefixAwarePlacement(1.0, balance, 4.0, 1_000_000);
    }

    /** Places {@code prompt} and records it where it went, as the scheduler does once the attempt began. */
    private Placement placeAndRecord(PrefixAwarePlacement policy, int[] prompt) {
        final Placement p = policy.place(table, prompt, prompt.length + 8);
        assertEquals(Placement.Outcome.PLACE, p.outcome);
        policy.onPlaced(p.prefill, p.decode, prompt);
        return p;
    }

    @Test
    void repeatedPromptGoesBackToTheNodesHoldingItsPrefix() {
        final PrefixAwarePlacement policy = policy(1.0);
        final NodeState prefill1 = node(1, NodeRole.PREFILL, 100);
        final NodeState prefill2 = node(2, NodeRole.PREFILL, 100);
        final NodeState decode1 = node(101, NodeRole.DECODE, 100);
        final NodeState decode2 = node(102, NodeRole.DECODE, 100);
        Placement p = placeAndRecord(policy, SHARED);
        assertSame(prefill1, p.prefill, "nothing cached anywhere: by load, ties to the first");
        assertSame(decode1, p.decode);
        assertFalse(p.byPrefix);
        prefill1.pendingPromptTokens = 10; // a little busier than node 2 now
        decode1.committedPages = 5;
        p = policy.place(table, SHARED, 40);
        assertSame(prefill1, p.prefill, "32 cached tokens outweigh 10 queued ones");
        assertSame(decode1, p.decode, "32 cached tokens outweigh 20 promised ones");
        assertTrue(p.byPrefix);
        assertEquals(32, p.prefillPrefixTokens);
        assertEquals(32, p.decodePrefixTokens);
        assertSame(prefill2, new JsqPlacement(1.0).place(table, SHARED, 40).prefill, "load alone would differ");
        assertSame(decode2, new JsqPlacement(1.0).place(table, SHARED, 40).decode);
        final int[] sharedStart = SHARED.clone();
        sharedStart[13] = -1; // the same first three pages, then another prompt
        p = policy.place(table, sharedStart, 40);
        assertEquals(12, p.prefillPrefixTokens, "only whole pages before the difference count");
        assertSame(prefill1, p.prefill, "12 cached tokens outweigh 10 queued ones");
    }

    @Test
    void newPromptGoesByLoad() {
        final PrefixAwarePlacement policy = policy(1.0);
        final NodeState prefill1 = node(1, NodeRole.PREFILL, 100);
        final NodeState prefill2 = node(2, NodeRole.PREFILL, 100);
        final NodeState decode1 = node(101, NodeRole.DECODE, 100);
        final NodeState decode2 = node(102, NodeRole.DECODE, 100);
        placeAndRecord(policy, SHARED);
        prefill1.pendingPromptTokens = 10;
        decode1.committedPages = 5;
        final Placement p = policy.place(table, OTHER, 40);
        assertSame(prefill2, p.prefill);
        assertSame(decode2, p.decode);
        assertFalse(p.byPrefix);
        assertEquals(0, p.prefillPrefixTokens);
        assertEquals(0, p.decodePrefixTokens);
    }

    @Test
    void muchBusierHolderLosesToAnIdleNode() {
        final PrefixAwarePlacement policy = policy(0.0); // the cache alone decides, up to the imbalance factor
        final NodeState prefill1 = node(1, NodeRole.PREFILL, 100);
        final NodeState prefill2 = node(2, NodeRole.PREFILL, 100);
        node(101, NodeRole.DECODE, 1000);
        placeAndRecord(policy, SHARED);
        prefill1.pendingPromptTokens = 128; // 4 x (0 + 32): still within the factor
        Placement p = policy.place(table, SHARED, 40);
        assertSame(prefill1, p.prefill);
        assertTrue(p.byPrefix);
        prefill1.pendingPromptTokens = 129; // beyond it: shortest queue
        p = policy.place(table, SHARED, 40);
        assertSame(prefill2, p.prefill);
        assertEquals(0, p.prefillPrefixTokens, "the idle node holds none of the prompt");
        assertTrue(p.byPrefix, "the decode node was still chosen for its prefix");
        assertEquals(32, p.decodePrefixTokens);
    }

    @Test
    void balanceTunesTheTradeBetweenCacheAndLoad() {
        final NodeState prefill1 = node(1, NodeRole.PREFILL, 100);
        final NodeState prefill2 = node(2, NodeRole.PREFILL, 100);
        node(101, NodeRole.DECODE, 1000);
        final PrefixAwarePlacement cacheLeaning = policy(0.5);
        final PrefixAwarePlacement loadLeaning = policy(1.0);
        placeAndRecord(cacheLeaning, SHARED);
        placeAndRecord(loadLeaning, SHARED);
        prefill1.pendingPromptTokens = 40;
        assertSame(prefill1, cacheLeaning.place(table, SHARED, 40).prefill, "32 - 0.5 x 40 = 12 > 0");
        assertSame(prefill2, loadLeaning.place(table, SHARED, 40).prefill, "32 - 1 x 40 = -8 < 0");
    }

    @Test
    void deadNodesPrefixesAreForgotten() {
        final PrefixAwarePlacement policy = policy(1.0);
        final NodeState prefill1 = node(1, NodeRole.PREFILL, 100);
        final NodeState prefill2 = node(2, NodeRole.PREFILL, 100);
        node(101, NodeRole.DECODE, 1000);
        placeAndRecord(policy, SHARED);
        assertEquals(32, policy.indexedTokens(prefill1));
        policy.onNodeDied(prefill1);
        assertEquals(0, policy.indexedTokens(prefill1));
        prefill1.pendingPromptTokens = 10; // back, a little busier, and its cache empty
        final Placement p = policy.place(table, SHARED, 40);
        assertSame(prefill2, p.prefill);
        assertEquals(0, p.prefillPrefixTokens);
    }

    @Test
    void indexOfANodeHoldsNoMoreThanItsKvPool() {
        final PrefixAwarePlacement policy = policy(1.0);
        final NodeState prefill = node(1, NodeRole.PREFILL, 6); // 24 tokens of KV
        node(101, NodeRole.DECODE, 1000);
        placeAndRecord(policy, SHARED);
        assertEquals(24, policy.indexedTokens(prefill));
        assertEquals(24, policy.place(table, SHARED, 40).prefillPrefixTokens);
    }

    @Test
    void colocatedNodesAreChosenTheSameWay() {
        final PrefixAwarePlacement policy = policy(1.0);
        final NodeState colocated1 = node(201, NodeRole.PREFILL_AND_DECODE, 100);
        final NodeState colocated2 = node(202, NodeRole.PREFILL_AND_DECODE, 100);
        Placement p = placeAndRecord(policy, SHARED);
        assertSame(colocated1, p.prefill);
        assertSame(colocated1, p.decode);
        colocated1.pendingPromptTokens = 4; // load 4 + 4 pages of 4 promised = 20 tokens
        colocated1.committedPages = 4;
        p = policy.place(table, SHARED, 40);
        assertSame(colocated1, p.decode);
        assertSame(colocated1, p.prefill);
        assertTrue(p.byPrefix);
        assertEquals(32, p.prefillPrefixTokens);
        p = policy.place(table, OTHER, 40);
        assertSame(colocated2, p.prefill, "a new prompt goes to the node with the most room");
        assertFalse(p.byPrefix);
        colocated1.pendingPromptTokens = 200; // far busier than the idle node
        assertSame(colocated2, policy.place(table, SHARED, 40).prefill);
    }

    @Test
    void withoutRoomItWaitsAsLoadPlacementDoes() {
        final PrefixAwarePlacement policy = policy(1.0);
        node(1, NodeRole.PREFILL, 100);
        final NodeState decode = node(101, NodeRole.DECODE, 20);
        placeAndRecord(policy, SHARED);
        decode.committedPages = 15; // 5 pages left; 40 tokens need 10
        assertEquals(Placement.Outcome.WAIT, policy.place(table, SHARED, 40).outcome);
        assertEquals(Placement.Outcome.NEVER_FITS, policy.place(table, SHARED, 81).outcome);
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new PrefixAwarePlacement(1.0, -1, 4.0, 100));
        assertThrows(IllegalArgumentException.class, () -> new PrefixAwarePlacement(1.0, 1, 0.5, 100));
        assertThrows(IllegalArgumentException.class, () -> new PrefixAwarePlacement(1.0, 1, 4.0, -1));
        assertThrows(IllegalArgumentException.class, () -> new PrefixAwarePlacement(0.5, 1, 4.0, 100));
    }
}
