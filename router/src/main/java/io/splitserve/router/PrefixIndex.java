package io.splitserve.router;

import org.agrona.collections.Long2ObjectHashMap;

/**
 * The router's approximate picture of one node's prefix cache: the prompts it placed there, cut into blocks of the
 * node's page size (a node's cache shares only whole pages) and chained by hash, each block keeping its token ids
 * and its parent, so a hash collision reads as a miss rather than a false match. It is approximate because the node
 * evicts on its own: the index is bounded by a token budget and forgets its least recently used blocks past it.
 *
 * <p>Guarantees: {@link #match} changes nothing; {@link #record} touches the whole recorded path with every block
 * more recent than its descendants, so the least recently used block never has a child and eviction only ever cuts
 * the tail of a chain, never leaves an unreachable block behind. Blocks are recycled, so once the index has reached
 * its bound recording allocates nothing. Router-thread only.
 */
final class PrefixIndex {
    private static final long ROOT_HASH = 0x2545F4914F6CDD1DL;

    private final int blockTokens;
    private final int maxBlocks;
    private final Long2ObjectHashMap<Block> blocks = new Long2ObjectHashMap<>();
    /** Sentinel of the recency list: {@code lru.next} is the most recent block, {@code lru.prev} the least. */
    private final Block lru = new Block(0);
    private Block free;
    private Block[] path = new Block[16];

    /**
     * @param blockTokens tokens per block: the node's page size
     * @param tokenBudget at most this many prompt tokens are remembered (whole blocks only)
     */
    PrefixIndex(int blockTokens, long tokenBudget) {
        if (blockTokens <= 0 || tokenBudget < 0) {
            throw new IllegalArgumentException("prefix index needs a positive block size and a budget of 0 or more,"
                    + " got " + blockTokens + " and " + tokenBudget);
        }
        this.blockTokens = blockTokens;
        this.maxBlocks = (int) Math.min(Integer.MAX_VALUE, tokenBudget / blockTokens);
        lru.next = lru;
        lru.prev = lru;
    }

    int blockTokens() {
        return blockTokens;
    }

    /** Tokens remembered now: whole blocks times the block size. */
    long tokens() {
        return (long) blocks.size() * blockTokens;
    }

    /** Leading tokens of {@code prompt} the node likely holds: a whole number of blocks. Changes nothing. */
    int match(int[] prompt) {
        long hash = ROOT_HASH;
        Block parent = null;
        int matched = 0;
        while (matched + blockTokens <= prompt.length) {
            hash = blockHash(hash, prompt, matched, blockTokens);
            final Block block = find(hash, parent, prompt, matched);
            if (block == null) {
                break;
            }
            parent = block;
            matched += blockTokens;
        }
        return matched;
    }

    /**
     * The node was given {@code prompt}: its whole blocks (up to the budget) are remembered and become the most
     * recent, and the least recently used blocks past the budget are forgotten.
     */
    void record(int[] prompt) {
        final int depth = Math.min(prompt.length / blockTokens, maxBlocks);
        if (path.length < depth) {
            path = new Block[Math.max(depth, path.length * 2)];
        }
        long hash = ROOT_HASH;
        Block parent = null;
        int recorded = 0;
        for (; recorded < depth; recorded++) {
            final int from = recorded * blockTokens;
            hash = blockHash(hash, prompt, from, blockTokens);
            Block block = find(hash, parent, prompt, from);
            if (block == null) {
                if (blocks.containsKey(hash)) {
                    break; // another chain owns this hash: stay approximate rather than displace it
                }
                block = newBlock(hash, parent, prompt, from);
                blocks.put(hash, block);
            }
            path[recorded] = block;
            parent = block;
        }
        for (int i = recorded - 1; i >= 0; i--) { // deepest first, so every block ends more recent than its children
            moveToFront(path[i]);
            path[i] = null;
        }
        while (blocks.size() > maxBlocks) {
            evict(lru.prev);
        }
    }

    /** Forgets everything (the node's cache is gone). */
    void clear() {
        while (lru.prev != lru) {
            evict(lru.prev);
        }
    }

    private Block find(long hash, Block parent, int[] prompt, int from) {
        final Block block = blocks.get(hash);
        if (block == null || block.parent != parent) {
            return null;
        }
        for (int i = 0; i < blockTokens; i++) {
            if (block.tokens[i] != prompt[from + i]) {
                return null;
            }
        }
        return block;
    }

    private Block newBlock(long hash, Block parent, int[] prompt, int from) {
        Block block = free;
        if (block != null) {
            free = block.next;
        } else {
            block = new Block(blockTokens);
        }
        block.hash = hash;
        block.parent = parent;
        System.arraycopy(prompt, from, block.tokens, 0, blockTokens);
        block.next = block;
        block.prev = block;
        return block;
    }

    private void evict(Block block) {
        unlink(block);
        blocks.remove(block.hash);
        block.parent = null;
        block.next = free;
        free = block;
    }

    private void moveToFront(Block block) {
        unlink(block);
        block.prev = lru;
        block.next = lru.next;
        lru.next.prev = block;
        lru.next = block;
    }

    private static void unlink(Block block) {
        block.prev.next = block.next;
        block.next.prev = block.prev;
        block.next = block;
        block.prev = block;
    }

    /** FNV-1a over the block's token ids, seeded with the parent's hash, then a 64-bit finalizer (murmur3's fmix64). */
    static long blockHash(long parentHash, int[] tokens, int from, int count) {
        long h = parentHash;
        for (int i = from; i < from + count; i++) {
            h = (h ^ (tokens[i] & 0xFFFFFFFFL)) * 0x100000001B3L;
        }
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        h *= 0xC4CEB9FE1A85EC53L;
        return h ^ (h >>> 33);
    }

    /** One block of a remembered prompt: its tokens, the block before it, its place in the recency list. */
    private static final class Block {
        final int[] tokens;
        long hash;
        Block parent;
        Block prev;
        Block next;

        Block(int blockTokens) {
            this.tokens = new int[blockTokens];
        }
    }
}
