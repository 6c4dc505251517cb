package io.splitserve.decode;

import io.aeron.ExclusivePublication;
import io.splitserve.engine.kv.PrefixCacheStats;
import org.agrona.CloseHelper;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.EpochNanoClock;
import org.agrona.concurrent.SystemEpochNanoClock;

/**
 * A decode (or colocated) node's liveness, apart from its compute: run on a thread of its own, it sends the node's
 * heartbeat every heartbeat interval however long the agent's thread spends in one engine step (a colocated node's
 * prefill chunk, a long CPU step). It never waits for a step: it reports the last {@link Load} the agent published
 * ({@link #publish}), one immutable record swapped whole, so a heartbeat never mixes two moments. Heartbeats leave on
 * a publication of their own to the router's events stream; the router ties a node's death to the image its hello
 * came on (the agent's publication); the hello names this publication's session ({@link #sessionId}), and with a
 * shared secret the router takes heartbeats only from the sessions a proved hello named. It guarantees that a live
 * process is heard; an agent thread that hangs for good is not detected by it.
 *
 * <p>Thread use: {@link #publish} from the agent's thread, everything else from the liveness thread.
 */
final class DecodeLiveness implements Agent {
    /** What a heartbeat reports, as the agent last saw it. */
    record Load(int freePages, int running, long stepNanos, PrefixCacheStats prefixCache, long kvRefused) {
    }

    private final int nodeId;
    private final long intervalNs;
    private final String roleName;
    private final RouterProxy router;
    private final EpochNanoClock epochClock = new SystemEpochNanoClock();
    private volatile Load load;
    private long nextBeatNs;

    DecodeLiveness(int nodeId, long intervalNs, String roleName, ExclusivePublication toRouter, Load initial) {
        this.nodeId = nodeId;
        this.intervalNs = intervalNs;
        this.roleName = roleName;
        this.router = new RouterProxy(toRouter, null);
        this.load = initial;
    }

    /** The Aeron session heartbeats leave on, which the node's hello names to the router. */
    int sessionId() {
        return router.sessionId();
    }

    /** The agent's latest load, which the following heartbeats report. */
    void publish(Load latest) {
        load = latest;
    }

    @Override
    public int doWork() {
        final long now = System.nanoTime();
        if (now - nextBeatNs < 0) {
            return 0;
        }
        nextBeatNs = now + intervalNs;
        final Load l = load;
        router.heartbeat(nodeId, epochClock.nanoTime(), l.freePages(), 0, l.running(), l.stepNanos(), l.prefixCache(),
                l.kvRefused());
        return 1;
    }

    @Override
    public String roleName() {
        return roleName;
    }

    @Override
    public void onClose() {
        CloseHelper.close(router);
    }
}
