package io.splitserve.perf.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** An open loop sends exactly its plan: the same requests, in the same order, at the Poisson schedule's offsets. */
class OpenLoopPlanTest {

    /** Numbered requests with varying lengths, the same sequence for every instance. */
    private static final class NumberedWorkload implements Workload {
        private int next;

        @Override
        public synchronized RequestSpec next() {
            final int i = next++;
            return new RequestSpec("request " + i, 1 + i % 7, 1 + i % 5);
        }

        @Override
        public String describe() {
            return "numbered";
        }
    }

    /** Records what was submitted, and finishes each request at once. */
    private static final class RecordingTarget implements LoadTarget {
        final List<RequestSpec> submitted = new ArrayList<>();

        @Override
        public synchronized void submit(RequestSpec request, ResponseObserver observer) {
            final long now = System.nanoTime();
            submitted.add(request);
            observer.onTokens(now);
            observer.onComplete(now, request.promptTokens(), request.outputTokens());
        }

        @Override
        public String describe() {
            return "recording";
        }

        @Override
        public void close() {
        }
    }

    @Test
    void aRunSubmitsThePlannedRequestsInOrder() throws Exception {
        final OpenLoop loop = new OpenLoop(40, 9);
        final RunSettings settings = new RunSettings().durationNs(500_000_000L).drainTimeoutNs(1_000_000_000L);
        final ScheduledRequest[] plan = loop.plan(new NumberedWorkload(), settings);
        final RecordingTarget target = new RecordingTarget();
        final RunResult result = loop.run(target, new NumberedWorkload(), settings);

        assertTrue(plan.length > 3, "40/s for 0.5 s should plan some requests: " + plan.length);
        assertEquals(Arrays.stream(plan).map(ScheduledRequest::request).toList(), target.submitted);
        assertEquals(plan.length, result.completed());
        assertArrayEquals(OpenLoop.schedule(40, 9, settings.durationNs(), settings.maxRequests()),
                Arrays.stream(plan).mapToLong(ScheduledRequest::offsetNs).toArray());
    }

    @Test
    void theRequestCapCutsThePlan() {
        final ScheduledRequest[] plan = new OpenLoop(1000, 1).plan(new NumberedWorkload(),
                new RunSettings().durationNs(60_000_000_000L).maxRequests(12));
        assertEquals(12, plan.length);
        assertEquals(new RequestSpec("request 11", 5, 2), plan[11].request());
    }
}
