package io.splitserve.perf.load;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Closed-loop load: N users, each sending its next request as soon as its previous one ends (no think time). The
 * offered rate follows the system's speed, so this measures capacity at a fixed concurrency; each request's clock
 * starts when its user is ready to send it.
 */
public final class ClosedLoop implements LoadPattern {
    private final int users;

    public ClosedLoop(int users) {
        if (users <= 0) {
            throw new IllegalArgumentException("a closed loop needs at least one user, got " + users);
        }
        this.users = users;
    }

    @Override
    public RunResult run(LoadTarget target, Workload workload, RunSettings settings) throws InterruptedException {
        final long origin = System.nanoTime();
        final long end = origin + settings.durationNs();
        final RunRecorder recorder = new RunRecorder(settings.slo(), origin, settings.timelineSeconds(),
                settings.hlogDir());
        final AtomicInteger remaining = new AtomicInteger(settings.maxRequests());
        final List<Thread> threads = new ArrayList<>();
        try {
            for (int u = 0; u < users; u++) {
                final Thread user = new Thread(() -> user(target, workload, recorder, remaining, end,
                        end + settings.drainTimeoutNs()), "splitserve-bench-user-" + u);
                user.setDaemon(true);
                threads.add(user);
                user.start();
            }
            // each user returns once it is past the end and its request ended, or at the drain deadline
            for (Thread t : threads) {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(end + settings.drainTimeoutNs() - System.nanoTime())));
            }
            recorder.awaitDrain(System.nanoTime());
            return recorder.finish(settings.label(), Double.NaN, users, Math.min(end, System.nanoTime()));
        } finally {
            recorder.close();
        }
    }

    private static void user(LoadTarget target, Workload workload, RunRecorder recorder, AtomicInteger remaining,
                             long end, long giveUp) {
        final Semaphore done = new Semaphore(0);
        try {
            while (System.nanoTime() - end < 0 && remaining.getAndDecrement() > 0) {
                final RequestSpec request = workload.next();
                target.submit(request, recorder.begin(request, System.nanoTime(), done::release));
                if (!done.tryAcquire(Math.max(0, giveUp - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String describe() {
        return "closed loop, " + users + " users with no think time";
    }
}
