package io.splitserve.perf.jmh;

import io.splitserve.engine.kv.BlockManager;
import io.splitserve.engine.kv.BlockTable;
import io.splitserve.engine.kv.PagePool;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * KV page bookkeeping on the scheduling path: one page taken and given back from the free list, and a whole
 * sequence's block table grown to 1200 tokens (600 in + 600 out, 16-token pages: 75 pages) and released, as a
 * decode node does per admitted request.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PageAllocationBenchmark {
    private PagePool pool;
    private BlockManager blocks;
    private BlockTable table;

    @Setup
    public void create() {
        pool = new PagePool(65_536);
        // half the pages held, so the free list is in its steady state rather than fresh
        for (int i = 0; i < 32_768; i++) {
            pool.allocate();
        }
        blocks = new BlockManager(65_536, 16);
        table = new BlockTable();
    }

    @Benchmark
    public int allocateAndFreeOnePage() {
        final int page = pool.allocate();
        pool.free(page);
        return page;
    }

    @Benchmark
    public int growAndReleaseSequenceOf1200Tokens() {
        blocks.ensureCapacity(table, 1200);
        final int pages = table.pageCount();
        blocks.release(table);
        return pages;
    }
}
