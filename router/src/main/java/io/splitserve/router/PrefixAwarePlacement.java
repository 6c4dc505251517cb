package io.splitserve.router;

import java.util.Collection;
import org.agrona.collections.Int2ObjectHashMap;

/**
 * KV-aware placement for nodes that cache prompt prefixes (as SGLang's cache-aware router and Dynamo's KV router do):
 * the router remembers, per node, the prompts it placed there ({@link PrefixIndex}), and for each role picks the
 * eligible node with the best score = matched prefix tokens - balance * load, where load is in tokens too: prompt
 * tokens waiting for prefill on a prefill node, KV tokens promised to sequences on a decode node (what each decode step
 * reads), both on a colocated node. With balance 1 a prefill node's score is minus the prompt tokens it must compute
 * before this request is done; below 1 the cache weighs more, above 1 the load.
 *
 * <p>Eligibility is {@link JsqPlacement}'s (usable, room for prompt + max new tokens), and so is the choice whenever
 * the prefix does not decide: when the best score has no prefix at all, and when its node's load exceeds
 * {@code imbalanceFactor} times the least loaded candidate's load plus the prompt (one node much busier than the
 * others), the request goes by load, exactly as {@link JsqPlacement} would send it. A prefill node is chosen only once
 * a decode node is; without such a pair a colocated node is chosen the same way.
 *
 * <p>{@link #place} reads the node table and the indices and changes nothing; {@link #onPlaced} records the prompt in
 * both chosen nodes' indices, {@link #onCompleted} records in the decode node's index the prompt and output whose KV it
 * computed (so the next turn of a conversation finds it there), and {@link #onNodeDied} drops a dead node's index.
 * Router-thread only.
 */
final class PrefixAwarePlacement implements PlacementPolicy {
    private final JsqPlacement byLoad;
    private final double kvOvercommit;
    private final double balance;
    private final double imbalanceFactor;
    private final long indexTokens;
    private final Int2ObjectHashMap<PrefixIndex> indices = new Int2ObjectHashMap<>();
    private final Placement decision = new Placement();
    private final Choice choice = new Choice();

    /**
     * @param kvOvercommit    as for {@link JsqPlacement}
     * @param balance         tokens of load one matched prefix token is worth (0 or more)
     * @param imbalanceFactor how many times busier than the least loaded candidate (plus the prompt) the prefix's
     *                        node may be before the request goes by load instead (at least 1)
     * @param indexTokens     prompt tokens remembered per node at most (each node also at most its KV pool)
     */
    PrefixAwarePlacement(double kvOvercommit, double balance, double imbalanceFactor, long indexTokens) {
        if (!(balance >= 0) || !(imbalanceFactor >= 1) || indexTokens < 0) {
            throw new IllegalArgumentException("KV-aware placement needs a balance of 0 or more, an imbalance factor of"
                    + " at least 1 and an index budget of 0 or more, got " + balance + ", " + imbalanceFactor + " and "
                    + indexTokens);
        }
        this.byLoad = new JsqPlacement(kvOvercommit);
        this.kvOvercommit = kvOvercommit;
        this.balance = balance;
        this.imbalanceFactor = imbalanceFactor;
        this.indexTokens = indexTokens;
    }

    @Override
    public Placement place(Collection<NodeState> nodes, int[] prompt, int totalTokens) {
        final int promptTokens = prompt.length;
        final NodeState decode = choose(nodes, Role.DECODE, prompt, totalTokens);
        if (decode != null) {
            final boolean decodeByPrefix = choice.byPrefix;
            final int decodePrefix = choice.matched;
            final NodeState prefill = choose(nodes, Role.PREFILL, prompt, totalTokens);
            if (prefill != null) {
                return decision.set(Placement.Outcome.PLACE, prefill, decode, 0)
                        .prefix(decodeByPrefix || choice.byPrefix, choice.matched, decodePrefix);
            }
        }
        final NodeState colocated = choose(nodes, Role.COLOCATED, prompt, totalTokens);
        if (colocated != null) {
            return decision.set(Placement.Outcome.PLACE, colocated, colocated, 0)
                    .prefix(choice.byPrefix, choice.matched, choice.matched);
        }
        return decision.unplaced(nodes, totalTokens);
    }

    @Override
    public void onPlaced(NodeState prefill, NodeState decode, int[] prompt) {
        index(prefill).record(prompt);
        if (decode != prefill) {
            index(decode).record(prompt);
        }
    }

    /** The decode node computed the request's output too: its index learns the whole conversation so far. */
    @Override
    public void onCompleted(NodeState decode, int[] tokens) {
        index(decode).record(tokens);
    }

    @Override
    public void onNodeDied(NodeState node) {
        final PrefixIndex index = indices.get(node.nodeId);
        if (index != null) {
            index.clear();
        }
    }

    /** Prompt tokens the router remembers placing on the node and not yet forgotten. */
    long indexedTokens(NodeState node) {
        final PrefixIndex index = indices.get(node.nodeId);
        return index == null ? 0 : index.tokens();
    }

    /**
     * The node of {@code role} this request goes to, or null when none can take it; leaves in {@link #choice}
     * whether the prefix decided and how much of the prompt the chosen node holds.
     */
    private NodeState choose(Collection<NodeState> nodes, Role role, int[] prompt, int totalTokens) {
        final int promptTokens = prompt.length;
        NodeState best = null;
        double bestScore = 0;
        int bestMatched = 0;
        long bestLoad = 0;
        long leastLoad = Long.MAX_VALUE;
        for (NodeState node : nodes) {
            if (!eligible(node, role, promptTokens, totalTokens)) {
                continue;
            }
            final long load = load(node, role);
            final int matched = matched(node, prompt);
            final double score = matched - balance * load;
            if (best == null || score > bestScore) {
                best = node;
                bestScore = score;
                bestMatched = matched;
                bestLoad = load;
            }
            leastLoad = Math.min(leastLoad, load);
        }
        if (best == null) {
            return null;
        }
        if (bestMatched > 0 && bestLoad <= imbalanceFactor * (leastLoad + promptTokens)) {
            choice.byPrefix = true;
            choice.matched = bestMatched;
            return best;
        }
        final NodeState loadPick = role == Role.PREFILL ? JsqPlacement.shortestQueue(nodes)
                : byLoad.mostRoom(nodes, role == Role.COLOCATED, promptTokens, totalTokens);
        choice.byPrefix = false;
        choice.matched = matched(loadPick, prompt);
        return loadPick;
    }

    private boolean eligible(NodeState node, Role role, int promptTokens, int totalTokens) {
        return switch (role) {
            case PREFILL -> node.prefills() && node.usable();
            case DECODE -> node.decodes() && node.usable()
                    && node.hasRoomFor(promptTokens, totalTokens, kvOvercommit);
            case COLOCATED -> node.colocated() && node.usable()
                    && node.hasRoomFor(promptTokens, totalTokens, kvOvercommit);
        };
    }

    /** Work in tokens already on the node: prompt tokens to prefill, KV tokens promised to its sequences, or both. */
    private static long load(NodeState node, Role role) {
        final long promisedKvTokens = node.committedPages * node.pageSize;
        return switch (role) {
            case PREFILL -> node.pendingPromptTokens;
            case DECODE -> promisedKvTokens;
            case COLOCATED -> node.pendingPromptTokens + promisedKvTokens;
        };
    }

    private int matched(NodeState node, int[] prompt) {
        final PrefixIndex index = indices.get(node.nodeId);
        return index == null || index.blockTokens() != node.pageSize ? 0 : index.match(prompt);
    }

    /** The node's index, made on its first placement and made again if the node's page size changed. */
    private PrefixIndex index(NodeState node) {
        PrefixIndex index = indices.get(node.nodeId);
        if (index == null || index.blockTokens() != node.pageSize) {
            final long pool = (long) node.totalPages * node.pageSize;
            index = new PrefixIndex(node.pageSize, pool > 0 ? Math.min(indexTokens, pool) : indexTokens);
            indices.put(node.nodeId, index);
        }
        return index;
    }

    private enum Role { PREFILL, DECODE, COLOCATED }

    /** What the last {@link #choose} decided besides the node. */
    private static final class Choice {
        boolean byPrefix;
        int matched;
    }
}
