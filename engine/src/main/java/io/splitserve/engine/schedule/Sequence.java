package io.splitserve.engine.schedule;

import io.splitserve.engine.kv.BlockTable;
import io.splitserve.engine.sampling.TokenHistory;
import io.splitserve.model.SamplingParams;
import java.util.Arrays;

/**
 * One request inside the engine: its tokens so far (prompt, then sampled ones), how many of them already have K/V
 * in the cache, its pages and how many tokens it sampled so far (the counter of its next draw). Invariant: {@code computed < length} while it waits for a
 * step, and a running sequence has exactly one uncomputed token, the last one sampled. Only {@link BatchScheduler}
 * changes it; everyone else reads. A sequence whose token ids are all known (one added as a prompt) may share and
 * offer pages through the prefix cache; one whose KV was computed elsewhere knows only its last token and never does.
 * A sequence whose parameters carry a penalty keeps its {@link TokenHistory} (the last {@code sampledCount} tokens
 * are output, the rest prompt), which needs every token id.
 */
public final class Sequence {
    private final long id;
    private final SamplingParams params;
    private long sampled;
    private final TokenHistory history;
    final BlockTable table = new BlockTable();
    final boolean tokensKnown;
    int[] tokens;
    int length;
    int computed;

    /** A prompt to prefill, whose request sampled {@code sampledBefore} tokens before (they end the prompt). */
    Sequence(long id, int[] prompt, SamplingParams params, long sampledBefore) {
        this.id = id;
        this.params = params;
        this.sampled = sampledBefore;
        this.tokens = Arrays.copyOf(prompt, Math.max(16, prompt.length * 2));
        this.length = prompt.length;
        this.tokensKnown = true;
        this.history = params.hasPenalties() ? TokenHistory.of(tokens, length, sampled) : null;
    }

    /**
     * A sequence whose first {@code computed} tokens already have K/V in its pages (computed elsewhere) and whose
     * next token to compute is {@code lastToken}. The ids of the computed tokens are never read again, so they are
     * not kept.
     */
    Sequence(long id, int computed, int lastToken, SamplingParams params, long sampledBefore) {
        this(id, null, computed, lastToken, params, sampledBefore);
    }

    /**
     * As {@link #Sequence(long, int, int, SamplingParams, long)}, with the ids of the computed tokens when
     * {@code computedTokens} is not null (then they are kept, and the sequence's pages may be cached).
     */
    Sequence(long id, int[] computedTokens, int computed, int lastToken, SamplingParams params,
             long sampledBefore) {
        this.id = id;
        this.params = params;
        this.sampled = sampledBefore;
        this.tokens = new int[Math.max(16, (computed + 1) * 2)];
        if (computedTokens != null) {
            System.arraycopy(computedTokens, 0, tokens, 0, computed);
        }
        this.tokens[computed] = lastToken;
        this.length = computed + 1;
        this.computed = computed;
        this.tokensKnown = computedTokens != null;
        if (params.hasPenalties() && !tokensKnown) {
            throw new IllegalArgumentException("penalties need every token id of the sequence");
        }
        this.history = params.hasPenalties() ? TokenHistory.of(tokens, length, sampled) : null;
    }

    public long id() {
        return id;
    }

    public SamplingParams params() {
        return params;
    }

    /**
     * Tokens this request sampled so far, on this engine or before it reached it (a prefill node's first token, an
     * earlier attempt's tokens): the counter of its next draw, so seeded sampling is one stream alone, in any batch
     * and across nodes.
     */
    public long sampledCount() {
        return sampled;
    }

    /** The prompt and output tokens penalties read, or null when the parameters have no penalty. */
    public TokenHistory history() {
        return history;
    }

    /** Token ids so far in {@code [0, length())}; the array is the sequence's own (read it, never write it). */
    public int[] tokens() {
        return tokens;
    }

    /** Tokens so far: prompt plus sampled ones. */
    public int length() {
        return length;
    }

    /** Leading tokens whose K/V is in the cache (or is written by the step being run). */
    public int computed() {
        return computed;
    }

    /** The sequence's pages, in token order. */
    public BlockTable table() {
        return table;
    }

    /** Every token so far is computed and {@code token} follows them, still to compute. */
    void appendSampled(int token) {
        computed = length;
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
        sampled++;
        if (history != null) {
            history.addOutput(token);
        }
    }
}
