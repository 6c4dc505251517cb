package io.splitserve.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.kv.PrefixCacheStats;
import io.splitserve.model.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Test driver: serves a list of greedy requests on one engine step by step, as the nodes do (arrivals at given steps,
 * release when done, a preempted request added again with what it produced so far), and reports each request's
 * tokens and the engine's prefix cache counters. The prefix cache tests on the CPU and on the GPU run it twice, with
 * the cache and without, and compare.
 */
public final class ServedWorkload {
    private ServedWorkload() {
    }

    /** A request arriving at step {@code arrival} that wants {@code tokens} greedy tokens. */
    public record Request(int arrival, int[] prompt, int tokens) {
    }

    /** What one engine produced for a list of requests, its cache counters at the end and its preemptions. */
    public record Outcome(int[][] tokens, PrefixCacheStats stats, int preemptions) {
    }

    public static int[] concat(int[]... parts) {
        int length = 0;
        for (int[] part : parts) {
            length += part.length;
        }
        final int[] out = new int[length];
        int at = 0;
        for (int[] part : parts) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    /**
     * Serves the requests; every sequence is released at the end, and every page must then be free or idle in the
     * cache.
     */
    public static Outcome serve(Path modelDir, EngineOptions options, List<Request> requests) throws Exception {
        try (Engine engine = Engine.load(modelDir, options)) {
            final List<List<Integer>> produced = new ArrayList<>();
            final Map<Long, Integer> requestOf = new HashMap<>();
            for (int r = 0; r < requests.size(); r++) {
                produced.add(new ArrayList<>());
            }
            int finished = 0;
            int preemptions = 0;
            for (int step = 0; finished < requests.size(); step++) {
                assertTrue(step < 10_000, "the workload ends");
                for (int r = 0; r < requests.size(); r++) {
                    if (requests.get(r).arrival() == step) {
                        requestOf.put(engine.addSequence(requests.get(r).prompt(), SamplingParams.greedy()), r);
                    }
                }
                for (StepOutput out : engine.step()) {
                    final int r = requestOf.get(out.sequenceId());
                    produced.get(r).add(out.token());
                    if (produced.get(r).size() == requests.get(r).tokens()) {
                        engine.release(out.sequenceId());
                        finished++;
                    }
                }
                for (long id : engine.takePreempted()) {
                    final int r = requestOf.remove(id);
                    preemptions++;
                    final int[] sofar = produced.get(r).stream().mapToInt(Integer::intValue).toArray();
                    requestOf.put(engine.addSequence(concat(requests.get(r).prompt(), sofar),
                            SamplingParams.greedy()), r);
                }
            }
            assertEquals(0, engine.sequenceCount());
            assertEquals(engine.totalPages(), engine.freePages(), "every page is free or idle in the cache");
            final int[][] tokens = new int[requests.size()][];
            for (int r = 0; r < tokens.length; r++) {
                tokens[r] = produced.get(r).stream().mapToInt(Integer::intValue).toArray();
            }
            return new Outcome(tokens, engine.prefixCacheStats(), preemptions);
        }
    }
}
