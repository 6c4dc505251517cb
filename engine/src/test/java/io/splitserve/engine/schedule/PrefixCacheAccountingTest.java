package io.splitserve.engine.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import io.splitserve.model.SamplingParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A property test of page accounting under the prefix cache: seeded random workloads of adds, steps, releases and
 * preemptions at the scheduler level, with prompts drawn from a few shared prefixes and decode tokens from a tiny
 * vocabulary so that pages are shared and evicted often. A fake KV cache (the token id written into each slot) plays
 * the model, and runs each step's page copies before the step writes (copy on write of cached pages' leading rows,
 * partial pages left by released and preempted sequences among them). After every event: free + idle cached + in use
 * = pool size; each page's reference count is the number of block tables holding it, so no free page is referenced
 * and no page in a table was evicted (it would have been handed out again and be held twice); and every sequence's
 * slots hold its own tokens for all it has computed, so a shared page always holds the prefix it was shared for, a
 * copied page the rows it was copied for, and no page still in use was overwritten.
 */
class PrefixCacheAccountingTest {
    private static final int RUNS = 40;
    private static final int EVENTS = 300;

    @Test
    void randomWorkloadsKeepEveryPageAccountedForAndEverySharedPageTrue() {
        long hits = 0;
        long evictions = 0;
        long copies = 0;
        long copiedRows = 0;
        for (int run = 0; run < RUNS; run++) {
            final Workload workload = new Workload(new SplittableRandom(run));
            workload.play();
            hits += workload.blocks.prefixCacheStats().hitTokens();
            evictions += workload.blocks.prefixCacheStats().evictions();
            copies += workload.copies;
            copiedRows += workload.copiedRows;
        }
        assertTrue(hits > 1000, "prefixes were shared: " + hits + " tokens hit");
        assertTrue(evictions > 100, "cached pages were evicted: " + evictions);
        assertTrue(copies > 100, "cached pages were copied on write: " + copies);
        assertTrue(copiedRows > copies, "copies of more than one row: " + copiedRows + " rows in " + copies);
    }

    private static final class Workload {
        final SplittableRandom random;
        final int pageSize;
        final BlockManager blocks;
        final BatchScheduler scheduler;
        final int[][] prefixes = new int[3][];
        final int[] kv; // the token id written into each slot, or -1
        final Map<Long, Sequence> live = new HashMap<>(); // every sequence that ever was in a step and still lives
        final List<Long> added = new ArrayList<>();
        long copies;
        long copiedRows;

        Workload(SplittableRandom random) {
            this.random = random;
            this.pageSize = 1 << random.nextInt(3);
            final int pages = 12 + random.nextInt(24);
            this.blocks = new BlockManager(pages, pageSize);
            this.scheduler = new BatchScheduler(blocks, new EngineOptions().preemption(true)
                    .chunkedPrefill(random.nextBoolean()).prefillTokenBudget(4 + random.nextInt(16))
                    .maxRunningSequences(1 + random.nextInt(6)));
            for (int i = 0; i < prefixes.length; i++) {
                prefixes[i] = tokens(random, 2 + random.nextInt(3 * pageSize + 4));
            }
            this.kv = new int[pages * pageSize];
            Arrays.fill(kv, -1);
        }

        private static int[] tokens(SplittableRandom random, int length) {
            final int[] out = new int[length];
            for (int i = 0; i < length; i++) {
                out[i] = random.nextInt(3);
            }
            return out;
        }

        void play() {
            for (int event = 0; event < EVENTS; event++) {
                final int roll = random.nextInt(100);
                if (roll < 30 && scheduler.sequenceCount() < 10) {
                    add();
                } else if (roll < 85) {
                    step();
                } else if (!added.isEmpty()) {
                    final long id = added.remove(random.nextInt(added.size()));
                    scheduler.release(id);
                    live.remove(id);
                }
                check();
            }
        }

        private void add() {
            final int[] prefix = prefixes[random.nextInt(prefixes.length)];
            final int kept = random.nextInt(prefix.length + 1);
            final int[] suffix = tokens(random, random.nextInt(2 * pageSize + 2));
            final int[] prompt = new int[Math.max(1, kept + suffix.length)];
            System.arraycopy(prefix, 0, prompt, 0, kept);
            System.arraycopy(suffix, 0, prompt, kept, suffix.length);
            added.add(scheduler.addWaiting(prompt, SamplingParams.greedy(), 0));
        }

        private void step() {
            final StepPlan plan = scheduler.schedule();
            for (long id : scheduler.takePreempted()) {
                added.remove(id);
                live.remove(id);
            }
            if (plan.isEmpty()) {
                return;
            }
            for (int c = 0; c < plan.copies(); c++) {
                final int rows = plan.copyRows(c);
                assertTrue(rows > 0 && rows < pageSize, "a copy of " + rows + " rows");
                System.arraycopy(kv, plan.copySource(c) * pageSize, kv, plan.copyDestination(c) * pageSize, rows);
                copies++;
                copiedRows += rows;
            }
            for (int i = 0; i < plan.size(); i++) {
                final Sequence sequence = plan.sequence(i);
                live.put(sequence.id(), sequence);
                assertHolds(sequence, plan.start(i)); // what it shares or computed before is its own prefix
                for (int p = plan.start(i); p < plan.start(i) + plan.count(i); p++) {
                    kv[blocks.slot(sequence.table(), p)] = sequence.tokens()[p];
                }
            }
            final int[] sampled = new int[plan.sampled()];
            for (int i = 0; i < sampled.length; i++) {
                sampled[i] = random.nextInt(3);
            }
            scheduler.completeStep(sampled);
        }

        private void assertHolds(Sequence sequence, int tokens) {
            for (int p = 0; p < tokens; p++) {
                assertEquals(sequence.tokens()[p], kv[blocks.slot(sequence.table(), p)],
                        "sequence " + sequence.id() + " position " + p);
            }
        }

        private void check() {
            assertEquals(blocks.pageCount(), blocks.emptyPages() + blocks.idleCachedPages() + blocks.pagesInUse());
            assertEquals(blocks.emptyPages() + blocks.idleCachedPages(), blocks.freePages());
            final int[] holders = new int[blocks.pageCount()];
            for (Sequence sequence : live.values()) {
                final BlockTable table = sequence.table();
                for (int i = 0; i < table.pageCount(); i++) {
                    holders[table.page(i)]++;
                }
                assertHolds(sequence, sequence.computed());
            }
            int inUse = 0;
            for (int page = 0; page < holders.length; page++) {
                assertEquals(holders[page], blocks.referenceCount(page), "references of page " + page);
                if (holders[page] > 0) {
                    inUse++;
                    assertFalse(blocks.isEmpty(page), "page " + page + " is held and free");
                } else if (blocks.isEmpty(page)) {
                    assertFalse(blocks.isCached(page), "page " + page + " is free and cached");
                }
            }
            assertEquals(inUse, blocks.pagesInUse());
        }
    }
}
