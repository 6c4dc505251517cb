package io.splitserve.decode;

import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.StepOutput;
import io.splitserve.model.ModelFingerprint;
import io.splitserve.model.ModelLoadException;
import io.splitserve.model.SamplingParams;
import io.splitserve.kvtransfer.KvAdmissions;
import io.splitserve.kvtransfer.KvBeginCheck;
import io.splitserve.kvtransfer.KvEndpoint;
import io.splitserve.kvtransfer.KvRefusal;
import io.splitserve.kvtransfer.KvReceiveListener;
import io.splitserve.kvtransfer.KvReceiver;
import io.splitserve.kvtransfer.KvReceiverContext;
import io.splitserve.kvtransfer.KvReservation;
import io.splitserve.sbe.FinishReason;
import io.splitserve.sbe.KvTransferStatus;
import io.splitserve.sbe.RouterSessionGuard;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.agrona.CloseHelper;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.SleepingMillisIdleStrategy;
import org.agrona.concurrent.EpochNanoClock;
import org.agrona.concurrent.SystemEpochNanoClock;

/**
 * The decode node as one Agrona agent: each duty cycle reads its control stream (DecodeAdmit, CancelRequest), lets the
 * KV receiver scatter arriving KV straight into the engine's page pool, admits sequences whose DecodeAdmit arrived and
 * whose KV then verified into the running batch while it has room, runs one engine step (receiving
 * more KV while the GPU computes it) and publishes one TokenEvent per sequence in it.
 *
 * <p>Guarantees: a sequence's tokens are published in order with consecutive indices, then exactly one DecodeDone
 * (STOP, LENGTH, CANCELLED, PREEMPTED or ERROR), after which its pages are free. When pages run out mid-generation the
 * engine frees the newest sequence and the router is told PREEMPTED, so it can re-prefill prompt + tokens so far
 * elsewhere; the other sequences go on. Verified KV whose sequence was cancelled while it streamed is released after
 * the orphan timeout. A failed KV transfer ends its sequence with ERROR, except REJECTED_PREFIX_MISSING (this node's prefix cache
 * lost the leading tokens the sender left out), after which the prefill node sends the whole KV again under the same id.
 * KV is taken only for a DecodeAdmit this node holds and still waits for KV, from the prefill node it names and with its
 * attempt token ({@link #check}; with a shared secret the token is required), so a Begin that overtakes its DecodeAdmit
 * waits for it in the receiver, and a stranger's is refused and counted ({@link #kvRefused}).
 * Work of a router that is gone is dropped: each DecodeAdmit names the epoch of the router instance that sent it, and
 * the first one from a newer instance (a router restarted, which continues the requests as new attempts) releases every
 * sequence an older instance placed, running or waiting for KV, with no DecodeDone (nobody waits for it); a DecodeAdmit
 * from an older instance than one already heard is released at once. Their pages return to the pool
 * ({@link #staleRouterReleases}).
 * Single-threaded: the agent's thread owns the engine and the KV receiver.
 */
public final class DecodeNodeAgent implements Agent, KvReceiveListener, KvAdmissions {
    private static final KvRefusal[] KV_REFUSALS = KvRefusal.values();
    private static final int FRAGMENT_LIMIT = 32;
    private static final int RECEIVE_POLLS_PER_STEP = 4;
    private static final long HELLO_INTERVAL_NS = 1_000_000_000L;

    private final DecodeNodeContext ctx;
    private final Engine engine;
    private final long fingerprint;
    private final EngineKvPageStore store;
    private final KvReceiver receiver;
    private final Subscription control;
    private final FragmentAssembler assembler;
    private final RouterProxy router;
    private final EpochNanoClock epochClock = new SystemEpochNanoClock();
    private final Long2ObjectHashMap<DecodeTicket> tickets = new Long2ObjectHashMap<>();
    private final Long2ObjectHashMap<DecodeTicket> running = new Long2ObjectHashMap<>();
    private final ArrayDeque<DecodeTicket> ready = new ArrayDeque<>();
    private final List<DecodeTicket> expired = new ArrayList<>();
    private final Runnable receiveWhileComputing = this::receiveWhileComputing;
    private long lastStepNanos;
    private final DecodeLiveness liveness;
    private final AgentRunner livenessRunner;
    private long nextHeartbeatNs;
    private long nextHelloNs;
    /** The newest router epoch a DecodeAdmit carried. */
    private long routerEpoch = DecodeTicket.NO_EPOCH;
    private long staleRouterReleases;
    private final List<DecodeTicket> stale = new ArrayList<>();

    /** Loads the model and opens this node's streams; the agent starts working when its runner starts it. */
    public DecodeNodeAgent(DecodeNodeContext context) throws ModelLoadException {
        this.ctx = context.conclude();
        final EngineOptions options = ctx.engineOptions().preemption(true).chunkedPrefill(ctx.colocated())
                .maxRunningSequences(ctx.maxBatchSize());
        this.engine = Engine.load(ctx.modelDir(), options);
        this.fingerprint = ModelFingerprint.of(ctx.modelDir());
        this.store = new EngineKvPageStore(engine, ctx.kvLayerImport(),
                line -> System.err.println(roleName() + ": " + line));
        if (engine.importsFromDevice() && ctx.kvEndpoint().length == 0) {
            // where this node's KV lives, so prefill nodes on this host can offer the GPU path
            ctx.kvEndpoint(new KvEndpoint(Engine.hostId(), engine.deviceUuid()).toBytes());
        }
        this.receiver = ctx.colocated() ? null : new KvReceiver(new KvReceiverContext()
                .aeron(ctx.aeron())
                .channel(ctx.kvChannel())
                .streamId(ctx.kvStreamId())
                .ackChannel(ctx.kvAckChannel())
                .ackStreamId(ctx.kvAckStreamId())
                .modelFingerprint(fingerprint)
                .pageStore(store)
                .transferTimeoutNs(ctx.kvTransferTimeoutNs())
                .admissions(this)
                .log(line -> System.err.println(roleName() + ": " + line))
                .receiveListener(this));
        this.control = ctx.aeron().addSubscription(ctx.controlChannel(), ctx.controlStreamId());
        this.router = new RouterProxy(ctx.aeron().addExclusivePublication(ctx.routerChannel(), ctx.routerStreamId()),
                ctx.sharedSecret());
        this.assembler = new FragmentAssembler(new DecodeControlAdapter(this, new RouterSessionGuard(ctx.sharedSecret(),
                line -> System.err.println(roleName() + ": " + line))));
        this.liveness = new DecodeLiveness(ctx.nodeId(), ctx.heartbeatIntervalNs(), roleName() + "-liveness",
                ctx.aeron().addExclusivePublication(ctx.routerChannel(), ctx.routerStreamId()), load());
        this.livenessRunner = new AgentRunner(new SleepingMillisIdleStrategy(1), Throwable::printStackTrace, null, liveness);
    }

    private DecodeLiveness.Load load() {
        return new DecodeLiveness.Load(engine.freePages(), running.size(), lastStepNanos, engine.prefixCacheStats(),
                kvRefusedTotal());
    }

    @Override
    public String roleName() {
        return (ctx.colocated() ? "colocated-node-" : "decode-node-") + ctx.nodeId();
    }

    /** Free KV pages of the engine (for tests and heartbeats). */
    public int freePages() {
        return engine.freePages();
    }

    public int totalPages() {
        return engine.totalPages();
    }

    @Override
    public int doWork() {
        int work = control.poll(assembler, FRAGMENT_LIMIT);
        if (receiver != null) {
            work += receiver.doWork();
        }
        final long now = System.nanoTime();
        if (now - nextHelloNs >= 0 && router.isConnected()
                && router.hello(ctx, fingerprint, engine.totalPages(), engine.options().pageSize(),
                liveness.sessionId())) {
            nextHelloNs = now + HELLO_INTERVAL_NS;
        }
        if (now - nextHeartbeatNs >= 0) {
            nextHeartbeatNs = now + ctx.heartbeatIntervalNs();
            liveness.publish(load());
            dropOrphans(now);
            work++;
        }
        work += admitReady();
        if (engine.hasWork()) {
            work += step();
        }
        return work;
    }

    /** KV messages the receiver refused for any reason, as heartbeats report them. */
    private long kvRefusedTotal() {
        long total = 0;
        for (KvRefusal why : KV_REFUSALS) {
            total += kvRefused(why);
        }
        return total;
    }

    /** KV messages the receiver refused for {@code why} (0 on a colocated node, which receives none). */
    public long kvRefused(KvRefusal why) {
        return receiver == null ? 0 : receiver.refused(why);
    }

    /**
     * A Begin may open a transfer only for a DecodeAdmit this node holds whose sequence has no KV yet, from the prefill
     * node it names and with its attempt token; called on the agent's thread, by the receiver.
     */
    @Override
    public KvBeginCheck check(long requestId, long attemptToken, int senderNodeId) {
        final DecodeTicket ticket = tickets.get(requestId);
        if (ticket == null || !ticket.admitted || ticket.kv != null || ticket.sequenceId >= 0) {
            return KvBeginCheck.NOT_ADMITTED;
        }
        return KvBeginCheck.match(ticket.attemptToken, ticket.prefillNodeId, attemptToken, senderNodeId,
                ctx.sharedSecret() != null);
    }

    void onAdmit(long requestId, long routerEpoch, long attemptToken, int prefillNodeId, int promptTokens,
                 int maxNewTokens, float temperature, float topP, int topK, long seed, int sampledBefore,
                 int[] stopTokens) {
        if (routerEpoch != DecodeTicket.NO_EPOCH) {
            if (routerEpoch > this.routerEpoch) {
                releaseOlderRouters(routerEpoch);
            } else if (routerEpoch < this.routerEpoch) { // sent by a router already replaced, arriving late
                final DecodeTicket late = tickets.get(requestId);
                if (late != null) {
                    release(late);
                }
                staleRouterReleases++;
                return;
            }
        }
        final DecodeTicket ticket = ticket(requestId);
        ticket.routerEpoch = routerEpoch;
        ticket.attemptToken = attemptToken;
        ticket.prefillNodeId = prefillNodeId;
        try {
            ticket.params = new SamplingParams(temperature, topK, topP, 0, seed);
        } catch (IllegalArgumentException e) {
            finish(ticket, FinishReason.ERROR);
            return;
        }
        ticket.maxNewTokens = maxNewTokens;
        ticket.sampledBefore = sampledBefore;
        ticket.stopTokens = stopTokens;
        ticket.admitted = true;
        markIfReady(ticket);
    }

    /**
     * A newer router instance spoke: releases every sequence an older one placed (running, or admitted and waiting for
     * KV); their router is gone and the new one continues its requests as new attempts.
     */
    private void releaseOlderRouters(long newEpoch) {
        routerEpoch = newEpoch;
        for (DecodeTicket ticket : tickets.values()) {
            if (ticket.routerEpoch != DecodeTicket.NO_EPOCH && ticket.routerEpoch < newEpoch) {
                stale.add(ticket);
            }
        }
        for (DecodeTicket ticket : stale) {
            release(ticket);
            staleRouterReleases++;
        }
        stale.clear();
    }

    /** Sequences released because the router instance that placed them was replaced (for tests and logs). */
    public long staleRouterReleases() {
        return staleRouterReleases;
    }

    void onPrompt(long requestId, int[] prompt) {
        if (!ctx.colocated()) {
            return;
        }
        final DecodeTicket ticket = ticket(requestId);
        ticket.prompt = prompt;
        markIfReady(ticket);
    }

    @Override
    public void onTransferAdmitted(long requestId, KvReservation reservation, int firstToken) {
        final DecodeTicket ticket = ticket(requestId);
        ticket.kv = store.take(reservation);
        ticket.firstToken = firstToken;
        markIfReady(ticket);
    }

    @Override
    public void onTransferFailed(long requestId, KvTransferStatus status) {
        if (status == KvTransferStatus.REJECTED_PREFIX_MISSING) {
            return; // the prefill node sends the whole KV again under the same id: the ticket waits for it
        }
        final DecodeTicket ticket = tickets.get(requestId);
        if (ticket != null && ticket.sequenceId < 0) {
            finish(ticket, FinishReason.ERROR);
        }
    }

    void onCancel(long requestId) {
        final DecodeTicket ticket = tickets.get(requestId);
        if (ticket != null) {
            finish(ticket, FinishReason.CANCELLED);
        }
    }

    private DecodeTicket ticket(long requestId) {
        DecodeTicket ticket = tickets.get(requestId);
        if (ticket == null) {
            ticket = new DecodeTicket(requestId, System.nanoTime());
            tickets.put(requestId, ticket);
        }
        return ticket;
    }

    private void markIfReady(DecodeTicket ticket) {
        if (ticket.ready(ctx.colocated()) && ticket.sequenceId < 0 && !ready.contains(ticket)) {
            ready.add(ticket);
        }
    }

    private int admitReady() {
        int admitted = 0;
        while (!ready.isEmpty() && running.size() < ctx.maxBatchSize()) {
            final DecodeTicket ticket = ready.poll();
            if (tickets.get(ticket.requestId) != ticket) {
                continue; // cancelled or failed while it waited
            }
            admitted++;
            if (ctx.colocated()) {
                try {
                    ticket.sequenceId = engine.addSequence(ticket.prompt, ticket.params, ticket.sampledBefore);
                } catch (IllegalArgumentException e) {
                    finish(ticket, FinishReason.ERROR);
                    continue;
                }
            } else {
                ticket.generated = 1;
                if (ticket.isStopToken(ticket.firstToken) || ticket.maxNewTokens <= 1) {
                    finish(ticket, ticket.isStopToken(ticket.firstToken) ? FinishReason.STOP : FinishReason.LENGTH);
                    continue;
                }
                ticket.sequenceId = engine.admitImported(ticket.kv, ticket.firstToken, ticket.params,
                        ticket.sampledBefore + 1);
                ticket.kv = null;
            }
            running.put(ticket.sequenceId, ticket);
        }
        return admitted;
    }

    private int step() {
        final long start = System.nanoTime();
        final List<StepOutput> outputs = engine.step(receiveWhileComputing);
        lastStepNanos = System.nanoTime() - start;
        final long now = epochClock.nanoTime();
        for (int i = 0; i < outputs.size(); i++) {
            final StepOutput out = outputs.get(i);
            final DecodeTicket ticket = running.get(out.sequenceId());
            final int index = ticket.generated++;
            final FinishReason finish = ticket.isStopToken(out.token()) ? FinishReason.STOP
                    : ticket.generated >= ticket.maxNewTokens ? FinishReason.LENGTH : FinishReason.NONE;
            router.token(ticket.requestId, index, out.token(), finish, now);
            if (finish != FinishReason.NONE) {
                finish(ticket, finish);
            }
        }
        for (long sequenceId : engine.takePreempted()) {
            final DecodeTicket ticket = running.remove(sequenceId);
            ticket.sequenceId = -1;
            tickets.remove(ticket.requestId);
            router.decodeDone(ticket.requestId, ctx.nodeId(), ticket.generated, FinishReason.PREEMPTED);
        }
        return outputs.size() + 1;
    }

    /**
     * KV keeps arriving while the GPU computes a step: the receiver copies it into pinned memory and queues layer
     * imports, touching only reservations, never a running sequence (admission waits for the next duty cycle). A few
     * polls at most, so a burst of KV cannot hold the step's tokens back for long.
     */
    private void receiveWhileComputing() {
        if (receiver == null) {
            return;
        }
        for (int polls = 0; polls < RECEIVE_POLLS_PER_STEP; polls++) {
            if (receiver.doWork() == 0) {
                return;
            }
        }
    }

    private void finish(DecodeTicket ticket, FinishReason reason) {
        release(ticket);
        router.decodeDone(ticket.requestId, ctx.nodeId(), ticket.generated, reason);
    }

    private void release(DecodeTicket ticket) {
        tickets.remove(ticket.requestId);
        if (ticket.sequenceId >= 0) {
            running.remove(ticket.sequenceId);
            engine.release(ticket.sequenceId);
            ticket.sequenceId = -1;
        }
        if (ticket.kv != null) {
            engine.releaseImported(ticket.kv);
            ticket.kv = null;
        }
    }

    /** KV that verified but whose DecodeAdmit never came (the router gave up on the attempt) goes back to the pool. */
    private void dropOrphans(long now) {
        for (DecodeTicket ticket : tickets.values()) {
            if (!ticket.admitted && now - ticket.createdNs > ctx.orphanTimeoutNs()) {
                expired.add(ticket);
            }
        }
        for (DecodeTicket ticket : expired) {
            release(ticket);
        }
        expired.clear();
    }

    /** The agent's thread drives the engine from here on. */
    @Override
    public void onStart() {
        engine.bindToCurrentThread();
        AgentRunner.startOnThread(livenessRunner); // heartbeats leave from their own thread, never waiting for a step
    }

    @Override
    public void onClose() {
        CloseHelper.closeAll(livenessRunner, receiver, control, router);
        engine.close();
    }
}
