package io.splitserve.prefill;

import io.aeron.ExclusivePublication;
import io.splitserve.engine.kv.PrefixCacheStats;
import io.splitserve.kvtransfer.KvKeepAlivePublisher;
import java.util.concurrent.CopyOnWriteArrayList;
import org.agrona.CloseHelper;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.EpochNanoClock;
import org.agrona.concurrent.SystemEpochNanoClock;

/**
 * A prefill node's liveness, apart from its compute: run on a thread of its own, it sends the node's heartbeat every
 * heartbeat interval and keeps every open KV transfer audible ({@link KvKeepAlivePublisher}), however long the agent's
 * thread spends in one prefill. It never waits for an engine step: it reports the last {@link Load} the agent
 * published ({@link #publish}), one immutable record swapped whole, so a heartbeat never mixes two moments.
 * Heartbeats leave on a publication of their own to the router's events stream; the router ties a node's death to the
 * image its hello came on (the agent's publication); the hello names this publication's session ({@link #sessionId}),
 * and with a shared secret the router takes heartbeats only from the sessions a proved hello named. It guarantees
 * that a live process is heard; an agent thread that hangs for good is not detected by it.
 *
 * <p>Thread use: {@link #publish} and {@link #add} from the agent's thread, everything else from the liveness thread.
 */
final class PrefillLiveness implements Agent {
    /** What a heartbeat reports, as the agent last saw it. */
    record Load(int freePages, long queuedTokens, int queued, long stepNanosP50, PrefixCacheStats prefixCache,
                long prefixResends) {
    }

    private final int nodeId;
    private final long intervalNs;
    private final RouterProxy router;
    private final EpochNanoClock epochClock = new SystemEpochNanoClock();
    private final CopyOnWriteArrayList<KvKeepAlivePublisher> keepAlives = new CopyOnWriteArrayList<>();
    private volatile Load load;
    private long nextBeatNs;

    PrefillLiveness(int nodeId, long intervalNs, ExclusivePublication toRouter, Load initial) {
        this.nodeId = nodeId;
        this.intervalNs = intervalNs;
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

    /** Keeps the open transfers of one more KV sender audible; closed with this agent. */
    void add(KvKeepAlivePublisher keepAlive) {
        keepAlives.add(keepAlive);
    }

    @Override
    public int doWork() {
        final long now = System.nanoTime();
        if (now - nextBeatNs < 0) {
            return 0;
        }
        nextBeatNs = now + intervalNs;
        final Load l = load;
        router.heartbeat(nodeId, epochClock.nanoTime(), l.freePages(), l.queuedTokens(), l.queued(), l.stepNanosP50(),
                l.prefixCache(), l.prefixResends());
        for (KvKeepAlivePublisher keepAlive : keepAlives) {
            keepAlive.keepAlive();
        }
        return 1;
    }

    @Override
    public String roleName() {
        return "prefill-liveness-" + nodeId;
    }

    @Override
    public void onClose() {
        CloseHelper.closeAll(keepAlives);
        CloseHelper.close(router);
    }
}
