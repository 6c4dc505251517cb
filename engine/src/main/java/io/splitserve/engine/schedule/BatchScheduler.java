package io.splitserve.engine.schedule;

import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import io.splitserve.engine.kv.OutOfPagesException;
import io.splitserve.engine.kv.PrefixMatch;
import io.splitserve.model.SamplingParams;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides what one step of a continuously batched engine computes, and owns the sequences' lifecycle and pages to
 * do so: waiting prompts (first come first served), running sequences, and their pages through {@link BlockManager}.
 *
 * <p>Each {@link #schedule()} gives every running sequence one decode token, then admits waiting prompts in arrival
 * order while the running-sequence limit, the prefill token budget and the free pages allow. Without chunked prefill
 * a prompt is taken whole, and the first prompt of a step is taken even when it alone exceeds the budget, so none
 * waits forever; with it, a prompt is cut to what is left of the budget and finished over later steps, only its last
 * chunk sampling a token. With preemption on, when the running sequences need more pages than are free, the newest
 * ones are freed (their ids reported once by {@link #takePreempted()}) until the rest fit; with it off that step
 * throws {@link OutOfPagesException}, as does a prompt that cannot get its pages in a step that holds nothing else.
 *
 * <p>With prefix caching on, a prompt admitted for the first time shares the longest run of cached full pages that
 * begins it and copies on write the leading rows of the cached page that continues it the furthest (the partial last
 * page of a released sequence, or a full page that parts from the prompt later): its next page is its own, the step's
 * plan lists the copy of those rows into it, and its prefill starts after them. The cap holds for both: the prompt's
 * last token is always computed (it must yield logits). The copy source keeps a reference until the step completes,
 * so nothing evicts or reuses it before the copy ran. After each step the sequences of the step offer their pages
 * that became full (prompt chunks and decode tokens alike) to the cache; release and preemption drop their
 * references, leaving cached pages idle for later hits, and leave a sequence's partial last page cached as a copy
 * source. Sequences added by {@link #addRunning} (KV computed elsewhere) offer their pages when their token ids are
 * given, and neither share nor offer pages when they are not.
 *
 * <p>It never touches tensors, logits or the model: the engine packs the {@link StepPlan}, runs it and hands the
 * sampled tokens back through {@link #completeStep(int[])}. Not thread-safe: the engine's thread drives it.
 */
public final class BatchScheduler {
    private final BlockManager blocks;
    private final int prefillTokenBudget;
    private final int maxRunningSequences;
    private final boolean chunkedPrefill;
    private final boolean preemption;
    private final boolean prefixCaching;
    private final PrefixMatch match = new PrefixMatch();
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final Map<Long, Sequence> sequences = new HashMap<>();
    private final List<Long> preempted = new ArrayList<>();
    private final StepPlan plan = new StepPlan();
    private boolean stepPending;
    private boolean copySourcesHeld;
    private long nextSequenceId = 1;

    /** Schedules over {@code blocks}' pages with the budget, limit, chunking and preemption of {@code options}. */
    public BatchScheduler(BlockManager blocks, EngineOptions options) {
        if (blocks == null || options == null) {
            throw new IllegalArgumentException("a scheduler needs a block manager and engine options");
        }
        this.blocks = blocks;
        this.prefillTokenBudget = options.prefillTokenBudget();
        this.maxRunningSequences = options.maxRunningSequences();
        this.chunkedPrefill = options.chunkedPrefill();
        this.preemption = options.preemption();
        this.prefixCaching = options.prefixCaching();
    }

    /**
     * Queues a prompt behind those already waiting; the caller has checked it against the model. Its request sampled
     * {@code sampledBefore} tokens before (0 for a fresh one). Returns its id.
     */
    public long addWaiting(int[] prompt, SamplingParams params, long sampledBefore) {
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("prompt is empty");
        }
        final Sequence sequence = new Sequence(nextSequenceId++, prompt, params, sampledBefore);
        waiting.add(sequence);
        sequences.put(sequence.id(), sequence);
        return sequence.id();
    }

    /**
     * Adds a running sequence whose first {@code computed} tokens already have K/V in {@code pages} (which become the
     * sequence's, leaving {@code pages} empty) and whose next token to compute is {@code lastToken}; its request sampled
     * {@code sampledBefore} tokens so far, {@code lastToken} included. Returns its id.
     */
    public long addRunning(BlockTable pages, int computed, int lastToken, SamplingParams params, long sampledBefore) {
        return addRunning(pages, null, computed, lastToken, params, sampledBefore);
    }

    /**
     * As {@link #addRunning(BlockTable, int, int, SamplingParams, long)}, knowing the ids of the computed
     * tokens when {@code computedTokens} is not null ({@code computed} of them): with prefix caching on, the sequence's
     * full pages are offered to the cache at once, and later ones as they fill, like a prompt prefilled here.
     */
    public long addRunning(BlockTable pages, int[] computedTokens, int computed, int lastToken, SamplingParams params,
                           long sampledBefore) {
        if (blocks.pagesFor(computed) > pages.pageCount()) {
            throw new IllegalArgumentException(pages.pageCount() + " pages cannot hold " + computed + " tokens of KV");
        }
        if (computedTokens != null && computedTokens.length < computed) {
            throw new IllegalArgumentException(computedTokens.length + " token ids for " + computed + " tokens of KV");
        }
        final Sequence sequence = new Sequence(nextSequenceId++, prefixCaching ? computedTokens : null, computed,
                lastToken, params, sampledBefore);
        pages.moveTo(sequence.table);
        if (sequence.tokensKnown) {
            blocks.register(sequence.table, sequence.tokens, computed);
        }
        running.add(sequence);
        sequences.put(sequence.id(), sequence);
        return sequence.id();
    }

    /**
     * Composes the next step (see the class comment), taking the pages it needs. The plan stays valid until the next
     * call; {@link #completeStep} must follow once the step ran, unless the plan is empty.
     *
     * @throws OutOfPagesException without preemption, when a running sequence cannot get the page its next token
     *                             needs; and when the first prompt of a step with nothing else in it cannot get its
     *                             pages.
     */
    public StepPlan schedule() {
        releaseCopySources(); // a plan never completed
        plan.clear();
        stepPending = false;
        if (preemption) {
            preemptUntilRunningFits();
        }
        for (Sequence sequence : running) {
            blocks.ensureCapacity(sequence.table, sequence.length);
            plan.addDecode(sequence);
        }
        int prefillTokens = 0;
        while (!waiting.isEmpty() && running.size() + (plan.sampled() - plan.decodes()) < maxRunningSequences) {
            final Sequence sequence = waiting.peek();
            final boolean firstAdmission = sequence.table.pageCount() == 0; // a waiting prompt knows its token ids
            if (firstAdmission && prefixCaching) {
                blocks.lookupWithCopy(sequence.tokens, sequence.length, sequence.length - 1, match);
            } else {
                match.clear();
            }
            final int start = firstAdmission ? match.tokens(blocks.pageSize()) : sequence.computed;
            final int remaining = sequence.length - start;
            final int chunk = chunkedPrefill ? Math.min(remaining, prefillTokenBudget - prefillTokens) : remaining;
            if (chunk <= 0 || (prefillTokens > 0 && prefillTokens + chunk > prefillTokenBudget)) {
                break;
            }
            final int upTo = start + chunk;
            final int needed = blocks.pagesFor(upTo) - sequence.table.pageCount() - match.pageCount();
            // sharing idle pages (and holding an idle copy source) takes them too; the copy's page is among those needed
            final int available = blocks.freePages() - match.idlePages();
            if (needed > available) {
                if (plan.isEmpty()) {
                    throw new OutOfPagesException(needed, available, blocks.pageCount());
                }
                break;
            }
            if (firstAdmission) {
                if (prefixCaching) {
                    blocks.share(match, sequence.table, sequence.length);
                    if (match.copyRows() > 0) {
                        plan.addCopy(match.copySource(), sequence.table.page(match.pageCount()), match.copyRows());
                        copySourcesHeld = true;
                    }
                }
                sequence.computed = start;
            }
            blocks.ensureCapacity(sequence.table, upTo);
            final boolean last = upTo == sequence.length;
            plan.addPrefill(sequence, start, chunk, last);
            prefillTokens += chunk;
            if (!last) {
                sequence.computed = upTo; // K/V of the chunk is written by this step; the rest waits its turn
                break;
            }
            waiting.poll();
        }
        stepPending = !plan.isEmpty();
        return plan;
    }

    /**
     * The step of the last {@link #schedule()} ran: {@code tokens[k]} is the token sampled for its {@code k}-th
     * sampling entry. Each such sequence has its token appended, and prompts that finished their prefill run from now
     * on. With prefix caching on, every sequence of the step then offers its newly full pages to the cache.
     */
    public void completeStep(int[] tokens) {
        if (!stepPending) {
            throw new IllegalStateException("no scheduled step is waiting for its tokens");
        }
        if (tokens.length < plan.sampled()) {
            throw new IllegalArgumentException("the step sampled " + plan.sampled() + " tokens, got "
                    + tokens.length);
        }
        stepPending = false;
        releaseCopySources();
        int row = 0;
        for (int i = 0; i < plan.size(); i++) {
            if (plan.samples(i)) {
                final Sequence sequence = plan.sequence(i);
                sequence.appendSampled(tokens[row++]);
                if (i >= plan.decodes()) {
                    running.add(sequence);
                }
            }
        }
        if (prefixCaching) {
            for (int i = 0; i < plan.size(); i++) {
                final Sequence sequence = plan.sequence(i);
                if (sequence.tokensKnown) {
                    blocks.register(sequence.table, sequence.tokens, sequence.computed);
                }
            }
        }
    }

    /** The copies of the last plan ran (or never will): their sources lose the reference the plan held. */
    private void releaseCopySources() {
        if (copySourcesHeld) {
            copySourcesHeld = false;
            for (int i = 0; i < plan.copies(); i++) {
                blocks.releaseCopySource(plan.copySource(i));
            }
        }
    }

    /** Returns a sequence's pages, leaving its partial last page cached when its token ids are known. */
    private void releasePages(Sequence sequence) {
        if (prefixCaching && sequence.tokensKnown) {
            blocks.release(sequence.table, sequence.tokens, sequence.computed);
        } else {
            blocks.release(sequence.table);
        }
    }

    /** Frees the newest running sequences until every remaining one can get the page its next token needs. */
    private void preemptUntilRunningFits() {
        int missing = 0;
        for (Sequence sequence : running) {
            missing += blocks.missingPages(sequence.table, sequence.length);
        }
        while (missing > blocks.freePages() && !running.isEmpty()) {
            final Sequence newest = running.remove(running.size() - 1);
            missing -= blocks.missingPages(newest.table, newest.length);
            sequences.remove(newest.id());
            releasePages(newest);
            preempted.add(newest.id());
        }
    }

    /**
     * Ids of the sequences preempted since the last call, oldest preemption first; they are already forgotten and
     * their pages free. Empty unless preemption is on.
     */
    public List<Long> takePreempted() {
        if (preempted.isEmpty()) {
            return List.of();
        }
        final List<Long> out = new ArrayList<>(preempted);
        preempted.clear();
        return out;
    }

    /** Forgets a sequence, waiting or running, and returns all its pages. */
    public void release(long sequenceId) {
        final Sequence sequence = sequences.remove(sequenceId);
        if (sequence == null) {
            throw new IllegalArgumentException("unknown sequence " + sequenceId);
        }
        if (!waiting.remove(sequence)) {
            running.remove(sequence);
        }
        releasePages(sequence);
    }

    /** Forgets every sequence and returns all their pages. */
    public void releaseAll() {
        for (long id : new ArrayList<>(sequences.keySet())) {
            release(id);
        }
    }

    public boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    /** Sequences added and not yet released or preempted (waiting or running). */
    public int sequenceCount() {
        return sequences.size();
    }

    /** Prompts not yet fully prefilled, a partly prefilled one included. */
    public int waitingCount() {
        return waiting.size();
    }

    /** Sequences that decode one token per step. */
    public int runningCount() {
        return running.size();
    }
}
