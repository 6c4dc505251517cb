package io.splitserve.engine.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import io.splitserve.engine.kv.OutOfPagesException;
import io.splitserve.engine.kv.PrefixCacheStats;
import io.splitserve.model.SamplingParams;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The decode/colocated scheduler stepped one event at a time with no model: a test plays the engine, reading each
 * {@link StepPlan} and handing back made-up sampled tokens. Each case states what every sequence gets in each step.
 */
class BatchSchedulerTest {
    private static final SamplingParams GREEDY = SamplingParams.greedy();

    private int promptsAdded;

    /** A prompt of {@code tokens} ids that shares no prefix with any other of the test (the prefix cache stays out). */
    private long add(BatchScheduler scheduler, int tokens) {
        final int[] prompt = new int[tokens];
        Arrays.fill(prompt, ++promptsAdded);
        return scheduler.addWaiting(prompt, GREEDY, 0);
    }

    /** Hands back a token for every sampling entry of the plan, as the engine does after running it. */
    private static void complete(BatchScheduler scheduler, StepPlan plan) {
        final int[] tokens = new int[plan.sampled()];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = 100 + i;
        }
        scheduler.completeStep(tokens);
    }

    private static void assertEntry(StepPlan plan, int entry, long id, int start, int count, boolean samples) {
        assertEquals(id, plan.sequence(entry).id(), "entry " + entry + " sequence");
        assertEquals(start, plan.start(entry), "entry " + entry + " start");
        assertEquals(count, plan.count(entry), "entry " + entry + " tokens");
        assertEquals(samples, plan.samples(entry), "entry " + entry + " samples");
    }

    @Test
    void promptsAreAdmittedInArrivalOrderAndThenDecodeOneTokenEach() {
        final BatchScheduler scheduler = new BatchScheduler(new BlockManager(64, 4), new EngineOptions());
        final long a = add(scheduler, 5);
        final long b = add(scheduler, 3);
        final long c = add(scheduler, 7);

        // step 1: all three prompts whole, in arrival order, each sampling its first token
        StepPlan plan = scheduler.schedule();
        assertEquals(3, plan.size());
        assertEquals(0, plan.decodes());
        assertEntry(plan, 0, a, 0, 5, true);
        assertEntry(plan, 1, b, 0, 3, true);
        assertEntry(plan, 2, c, 0, 7, true);
        assertEquals(15, plan.prefillTokens());
        complete(scheduler, plan);
        assertEquals(3, scheduler.runningCount());
        assertEquals(0, scheduler.waitingCount());
        assertEquals(100, plan.sequence(0).tokens()[5], "a's sampled token follows its prompt");

        // step 2: each decodes the token it sampled, at the position after its prompt
        plan = scheduler.schedule();
        assertEquals(3, plan.decodes());
        assertEntry(plan, 0, a, 5, 1, true);
        assertEntry(plan, 1, b, 3, 1, true);
        assertEntry(plan, 2, c, 7, 1, true);
        assertEquals(0, plan.prefillTokens());
    }

    @Test
    void withoutChunkingWholePromptsFillTheBudgetAndALongPromptRunsAloneRatherThanStarve() {
        final BatchScheduler scheduler = new BatchScheduler(new BlockManager(64, 4),
                new EngineOptions().prefillTokenBudget(10));
        final long a = add(scheduler, 6);
        final long b = add(scheduler, 4);
        final long c = add(scheduler, 6);
        final long d = add(scheduler, 25);

        // step 1: a (6) and b (4) fill the budget of 10; c would exceed it
        StepPlan plan = scheduler.schedule();
        assertEquals(2, plan.size());
        assertEntry(plan, 0, a, 0, 6, true);
        assertEntry(plan, 1, b, 0, 4, true);
        complete(scheduler, plan);

        // step 2: a and b decode; c (6) is admitted; d (25) would exceed the budget and waits
        plan = scheduler.schedule();
        assertEquals(3, plan.size());
        assertEquals(2, plan.decodes());
        assertEntry(plan, 2, c, 0, 6, true);
        complete(scheduler, plan);

        // step 3: d is the first prompt of its step, so it runs whole although it alone exceeds the budget
        plan = scheduler.schedule();
        assertEquals(4, plan.size());
        assertEntry(plan, 3, d, 0, 25, true);
        assertEquals(25, plan.prefillTokens());
    }

    @Test
    void withChunkingALongPromptIsSplitAcrossStepsAndOnlyItsLastChunkSamples() {
        final BatchScheduler scheduler = new BatchScheduler(new BlockManager(64, 4),
                new EngineOptions().prefillTokenBudget(8).chunkedPrefill(true));
        final long a = add(scheduler, 20);
        final long b = add(scheduler, 6);

        // step 1: a's tokens [0, 8), no token sampled; b does not start while a is unfinished
        StepPlan plan = scheduler.schedule();
        assertEquals(1, plan.size());
        assertEntry(plan, 0, a, 0, 8, false);
        assertEquals(0, plan.sampled());
        complete(scheduler, plan);
        assertEquals(0, scheduler.runningCount());

        // step 2: a's tokens [8, 16), still nothing sampled
        plan = scheduler.schedule();
        assertEquals(1, plan.size());
        assertEntry(plan, 0, a, 8, 8, false);
        complete(scheduler, plan);

        // step 3: a's last 4 tokens sample its first token; b gets the 4 tokens of budget left, [0, 4), unsampled
        plan = scheduler.schedule();
        assertEquals(2, plan.size());
        assertEntry(plan, 0, a, 16, 4, true);
        assertEntry(plan, 1, b, 0, 4, false);
        assertEquals(1, plan.sampled());
        complete(scheduler, plan);
        assertEquals(1, scheduler.runningCount());
        assertEquals(20, plan.sequence(0).computed());

        // step 4: a decodes at position 20; b finishes with [4, 6) and samples
        plan = scheduler.schedule();
        assertEquals(2, plan.size());
        assertEntry(plan, 0, a, 20, 1, true);
        assertEntry(plan, 1, b, 4, 2, true);
        complete(scheduler, plan);
        assertEquals(2, scheduler.runningCount());
    }

    @Test
    void theRunningLimitKeepsPromptsWaitingUntilASequenceIsReleased() {
        final BatchScheduler scheduler = new BatchScheduler(new BlockManager(64, 4),
                new EngineOptions().maxRunningSequences(2));
        final long a = add(scheduler, 3);
        final long b = add(scheduler, 3);
        final long c = add(scheduler, 3);

        // step 1: a and b fill the two running places; c waits
        StepPlan plan = scheduler.schedule();
        assertEquals(2, plan.size());
        assertEntry(plan, 1, b, 0, 3, true);
        complete(scheduler, plan);

        // step 2: a and b decode, c still waits
        plan = scheduler.schedule();
        assertEquals(2, plan.decodes());
        assertEquals(2, plan.size());
        complete(scheduler, plan);
        assertEquals(1, scheduler.waitingCount());

        // a ends: step 3 decodes b and admits c
        scheduler.release(a);
        plan = scheduler.schedule();
        assertEquals(2, plan.size());
        assertEntry(plan, 0, b, 4, 1, true);
        assertEntry(plan, 1, c, 0, 3, true);
    }

    @Test
    void aPromptWithoutFreePagesWaitsBesideRunningSequencesButFailsAStepThatHoldsNothingElse() {
        final BlockManager blocks = new BlockManager(4, 4);
        final BatchScheduler scheduler = new BatchScheduler(blocks, new EngineOptions());
        final long a = add(scheduler, 7); // 2 pages
        StepPlan plan = scheduler.schedule();
        complete(scheduler, plan);
        final long b = add(scheduler, 9); // 3 pages; 2 are free

        // beside a's decode, b waits and takes nothing
        plan = scheduler.schedule();
        assertEquals(1, plan.size());
        assertEntry(plan, 0, a, 7, 1, true);
        assertEquals(2, blocks.freePages());
        complete(scheduler, plan);

        // a ends, but pages held outside the scheduler (an import being received) leave b 2 of its 3 pages: a step
        // with nothing else in it cannot wait for pages that no sequence of its own will free, so it says so
        scheduler.release(a);
        final BlockTable import_ = new BlockTable();
        blocks.ensureCapacity(import_, 8);
        final OutOfPagesException e = assertThrows(OutOfPagesException.class, scheduler::schedule);
        assertTrue(e.getMessage().contains("need 3, 2 free of 4"), e.getMessage());
        assertEquals(2, blocks.freePages(), "the failed step took no page");
        assertEquals(1, scheduler.waitingCount(), "b still waits");

        // once the import's pages return, b is prefilled
        blocks.release(import_);
        plan = scheduler.schedule();
        assertEntry(plan, 0, b, 0, 9, true);
    }

    @Test
    void preemptionFreesTheNewestRunningSequencesAndReportsThemOnce() {
        final BlockManager blocks = new BlockManager(6, 2);
        final BatchScheduler scheduler = new BatchScheduler(blocks, new EngineOptions().preemption(true));
        final long a = add(scheduler, 3);
        final long b = add(scheduler, 3);
        final long c = add(scheduler, 3);
        StepPlan plan = scheduler.schedule(); // each prompt takes 2 pages: the pool is full
        complete(scheduler, plan); // each now holds 4 tokens, the 4th still to compute: it fits their 2 pages
        plan = scheduler.schedule();
        assertEquals(3, plan.decodes());
        assertTrue(scheduler.takePreempted().isEmpty());
        complete(scheduler, plan);

        // each needs a third page for its 5th token and none is free: c, the newest, is freed (2 pages), which
        // covers a's and b's need
        plan = scheduler.schedule();
        assertEquals(List.of(c), scheduler.takePreempted());
        assertTrue(scheduler.takePreempted().isEmpty(), "a preemption is reported once");
        assertEquals(2, plan.size());
        assertEntry(plan, 0, a, 4, 1, true);
        assertEntry(plan, 1, b, 4, 1, true);
        assertEquals(0, blocks.freePages());
        assertEquals(2, scheduler.sequenceCount(), "the preempted sequence is forgotten");
        assertThrows(IllegalArgumentException.class, () -> scheduler.release(c));
        complete(scheduler, plan);
        plan = scheduler.schedule(); // 6th token: still within 3 pages each
        complete(scheduler, plan);

        // the 7th token needs a fourth page each, none free: b, now the newest, goes and a takes one of its 3 pages
        plan = scheduler.schedule();
        assertEquals(List.of(b), scheduler.takePreempted());
        assertEquals(1, plan.size());
        assertEntry(plan, 0, a, 6, 1, true);
    }

    @Test
    void preemptionOfSeveralInOneStepGoesFromTheNewestAndReportsThemInThatOrder() {
        final BlockManager blocks = new BlockManager(3, 1);
        final BatchScheduler scheduler = new BatchScheduler(blocks, new EngineOptions().preemption(true));
        final long a = add(scheduler, 1);
        final long b = add(scheduler, 1);
        final long c = add(scheduler, 1);
        complete(scheduler, scheduler.schedule()); // one page each: the pool is full; each needs a 2nd page

        // 3 pages missing, none free: c goes (2 missing, 1 free), then b (1 missing, 2 free); a decodes
        final StepPlan plan = scheduler.schedule();
        assertEquals(List.of(c, b), scheduler.takePreempted());
        assertEquals(1, plan.size());
        assertEntry(plan, 0, a, 1, 1, true);
        assertEquals(1, blocks.freePages());
        assertEquals(1, scheduler.sequenceCount());
    }

    @Test
    void withoutPreemptionARunningSequenceOutOfPagesFailsTheStep() {
        final BlockManager blocks = new BlockManager(2, 2);
        final BatchScheduler scheduler = new BatchScheduler(blocks, new EngineOptions());
        add(scheduler, 2);
        add(scheduler, 2);
        complete(scheduler, scheduler.schedule()); // both hold one full page; each needs a second
        assertThrows(OutOfPagesException.class, scheduler::schedule);
        assertTrue(scheduler.takePreempted().isEmpty());
        assertEquals(2, scheduler.runningCount());
    }

    @Test
    void aPromptSharesTheCachedPagesOfItsPrefixAndPrefillsOnlyTheRestButAlwaysItsLastToken() {
        final BlockManager blocks = new BlockManager(16, 4);
        final BatchScheduler scheduler = new BatchScheduler(blocks, new EngineOptions());
        final int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        final long a = scheduler.addWaiting(prompt, GREEDY, 0);
        complete(scheduler, scheduler.schedule()); // a's pages [1..4] and [5..8] are full and cached now
        assertEquals(2, blocks.prefixCacheStats().cachedPages());

        // the same prompt: two pages shared, tokens [8, 10) prefilled on a page of its own
        final long b = scheduler.addWaiting(prompt, GREEDY, 0);
        StepPlan plan = scheduler.schedule();
        assertEntry(plan, 1, b, 8, 2, true);
        assertEquals(plan.sequence(0).table().page(1), plan.sequence(1).table().page(1));
        complete(scheduler, plan);

        // a prompt of exactly the two cached pages shares only one and copies 3 rows of the other into a page of its
        // own: its last token must be computed for logits (looked up: a 10, b 10, c 8 tokens; hit: b 8, c 4 + 3)
        final long c = scheduler.addWaiting(Arrays.copyOf(prompt, 8), GREEDY, 0);
        plan = scheduler.schedule();
        assertEntry(plan, 2, c, 7, 1, true);
        assertEquals(1, plan.copies());
        assertEquals(plan.sequence(0).table().page(1), plan.copySource(0));
        assertEquals(plan.sequence(2).table().page(1), plan.copyDestination(0));
        assertTrue(plan.copySource(0) != plan.copyDestination(0));
        assertEquals(3, plan.copyRows(0));
        assertEquals(new PrefixCacheStats(28, 15, 2, 0), blocks.prefixCacheStats());
        complete(scheduler, plan);

        // every holder released: the cached pages stay, idle, and count as free
        scheduler.releaseAll();
        assertEquals(16, blocks.freePages());
        assertEquals(0, blocks.pagesInUse());
        assertTrue(blocks.idleCachedPages() >= 2);
    }

    @Test
    void withPrefixCachingOffNothingIsSharedOrCached() {
        final BlockManager blocks = new BlockManager(16, 4);
        final BatchScheduler scheduler = new BatchScheduler(blocks, new EngineOptions().prefixCaching(false));
        final int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        scheduler.addWaiting(prompt, GREEDY, 0);
        complete(scheduler, scheduler.schedule());
        final long b = scheduler.addWaiting(prompt, GREEDY, 0);
        final StepPlan plan = scheduler.schedule();
        assertEntry(plan, 1, b, 0, 10, true);
        assertEquals(new PrefixCacheStats(0, 0, 0, 0), blocks.prefixCacheStats());
    }

    @Test
    void misuseIsRefusedClearly() {
        final BatchScheduler scheduler = new BatchScheduler(new BlockManager(4, 4), new EngineOptions());
        assertThrows(IllegalStateException.class, () -> scheduler.completeStep(new int[0]),
                "no step was scheduled");
        add(scheduler, 3);
        scheduler.schedule();
        assertThrows(IllegalArgumentException.class, () -> scheduler.completeStep(new int[0]),
                "the step sampled one token");
        assertThrows(IllegalArgumentException.class, () -> add(scheduler, 0));
        assertThrows(IllegalArgumentException.class, () -> scheduler.release(99));
        assertThrows(IllegalArgumentException.class, () -> scheduler.addRunning(new BlockTable(), 5, 1, GREEDY,
                0), "no pages hold the 5 tokens it claims");
    }
}
