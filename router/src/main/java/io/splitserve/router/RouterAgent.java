package io.splitserve.router;

import io.aeron.FragmentAssembler;
import io.aeron.Image;
import io.aeron.Subscription;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import io.splitserve.sbe.KvPath;
import io.splitserve.sbe.NodeRole;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.agrona.DirectBuffer;
import org.agrona.CloseHelper;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.EpochNanoClock;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.NanoClock;

/**
 * The router as one Agrona agent, the system's front door: its duty cycle and its dispatch. Each cycle reads node
 * events and client requests from Aeron (through {@link NodeEventsAdapter} and {@link ClientIngressAdapter}) and
 * commands handed over by other threads (the HTTP shim, Aeron's image handler), believes hellos, client requests and
 * node events only as far as {@link PeerAuthenticator} lets it (a shared secret proved, on the session that proved
 * it), checks node health every 20 ms and expires queued requests, then places queued requests. Its on* handlers only route: node health to the
 * {@link NodeRegistry}, requests and their attempts to the {@link RequestScheduler} (which places through
 * {@link PrefixAwarePlacement}, or {@link JsqPlacement} when nodes cache no prefixes), a reconnecting client's unfinished
 * requests of an earlier run to {@link RestartedRequests}, which continues them; at the end of each cycle the journal
 * records the tokens it delivered ({@link RequestJournal#flush});
 * outbound messages leave through {@link NodeProxy} and {@link ClientEgressProxy}.
 *
 * <p>Single-threaded; other threads only talk to it through {@link #submit}, {@link #cancel}, {@link #metricsText}
 * and {@link #health}, which hand a command over a queue.
 */
public final class RouterAgent implements Agent {
    private static final int FRAGMENT_LIMIT = 64;
    private static final long HEALTH_CHECK_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(20);

    private final ServedModel model;
    private final NanoClock clock;
    private final EpochNanoClock epochClock;
    private final PeerAuthenticator authenticator;
    private final RequestValidator validator;
    private final Subscription nodeEvents;
    private final Subscription ingress;
    private final FragmentAssembler nodeAssembler;
    private final FragmentAssembler ingressAssembler;
    private final ClientEgressProxy egress;
    private final ManyToOneConcurrentArrayQueue<Runnable> commands = new ManyToOneConcurrentArrayQueue<>(4096);
    private final RouterMetrics metrics = new RouterMetrics();
    private final NodeRegistry nodes;
    private final RequestScheduler scheduler;
    private final RequestJournal journal;
    private final RestartedRequests restarted;
    private final Consumer<String> log;
    private long nextHealthCheckNs;

    private static boolean onlyIpc(RouterContext ctx) {
        return ctx.nodeEventsChannel().startsWith("aeron:ipc") && ctx.ingressChannel().startsWith("aeron:ipc")
                && ctx.egressChannel().startsWith("aeron:ipc");
    }

    public RouterAgent(RouterContext context) {
        final RouterContext ctx = context.conclude();
        this.model = ctx.model();
        this.clock = ctx.nanoClock();
        this.log = ctx.log();
        this.epochClock = ctx.epochNanoClock();
        this.authenticator = new PeerAuthenticator(ctx.sharedSecret(), log);
        metrics.authenticator = authenticator;
        if (!authenticator.enabled() && !onlyIpc(ctx)) { // IPC streams are reachable from this host alone
            log.accept("router: no shared secret configured: every node and client that reaches the router is believed"
                    + " (safe only when its endpoints are reachable from this host alone)");
        }
        this.validator = new RequestValidator(model, ctx.maxInputLength(), ctx.maxOutputLength());
        // this instance's epoch: later than any earlier instance's start, so nodes tell the live router's work apart
        final long routerEpoch = epochClock.nanoTime();
        this.nodes = new NodeRegistry(model.name(), ctx.heartbeatTimeoutNs(),
                (channel, streamId) -> new NodeProxy(ctx.aeron().addExclusivePublication(channel, streamId),
                        routerEpoch, ctx.sharedSecret()));
        this.journal = ctx.journalDir() == null ? null : new RequestJournal(ctx.journalDir());
        this.restarted = journal == null ? null
                : new RestartedRequests(journal, metrics, model, ctx.maxRecoveries(), ctx.log());
        this.scheduler = new RequestScheduler(ctx, nodes, placement(ctx), metrics, journal,
                model.tokenizer(), journal == null ? 0 : journal.highestRouterId());
        nodes.deathListener(scheduler::onNodeDied)
                .refusalListener((nodeId, reason) -> ctx.log().accept("router: NodeHello of node " + nodeId
                        + " refused: " + reason));
        this.nodeEvents = ctx.aeron().addSubscription(ctx.nodeEventsChannel(), ctx.nodeEventsStreamId(),
                image -> { }, this::onNodeEventsImageUnavailable);
        this.ingress = ctx.aeron().addSubscription(ctx.ingressChannel(), ctx.ingressStreamId(),
                image -> { }, this::onIngressImageUnavailable);
        this.egress = new ClientEgressProxy(ctx.aeron().addExclusivePublication(ctx.egressChannel(),
                ctx.egressStreamId()));
        this.nodeAssembler = new FragmentAssembler(new NodeEventsAdapter(this));
        this.ingressAssembler = new FragmentAssembler(new ClientIngressAdapter(this));
    }

    private static PlacementPolicy placement(RouterContext ctx) {
        return ctx.prefixCaching()
                ? new PrefixAwarePlacement(ctx.kvOvercommit(), ctx.kvAwareBalance(), ctx.kvAwareImbalanceFactor(),
                        ctx.prefixIndexTokens())
                : new JsqPlacement(ctx.kvOvercommit());
    }

    @Override
    public String roleName() {
        return "router";
    }

    /**
     * Hands a request to the router from any thread; its results go to {@code listener} on the router's thread.
     * When the hand-over queue is full the listener is told OVERLOADED at once, on the caller's thread.
     */
    public void submit(CompletionInput input, ResponseListener listener) {
        if (!commands.offer(() -> accept(0, 0, input, listener))) {
            listener.onError(ErrorCode.OVERLOADED, "the router is overloaded; retry later");
        }
    }

    /** Cancels the request submitted with {@code listener}, from any thread; it ends with a CANCELLED event. */
    public void cancel(ResponseListener listener) {
        commands.offer(() -> scheduler.cancel(listener));
    }

    /** The Prometheus text of the router's metrics, rendered on the router's thread. */
    public CompletableFuture<String> metricsText() {
        final CompletableFuture<String> result = new CompletableFuture<>();
        if (!commands.offer(() -> result.complete(metrics.render(scheduler.queued(), scheduler.active(),
                nodes.nodes())))) {
            result.completeExceptionally(new IllegalStateException("router is overloaded"));
        }
        return result;
    }

    /** Live nodes by role ("prefill", "decode", "colocated"), read on the router's thread. */
    public CompletableFuture<Map<String, Integer>> health() {
        final CompletableFuture<Map<String, Integer>> result = new CompletableFuture<>();
        if (!commands.offer(() -> result.complete(nodes.liveCounts()))) {
            result.completeExceptionally(new IllegalStateException("router is overloaded"));
        }
        return result;
    }

    public String modelName() {
        return model.name();
    }

    @Override
    public int doWork() {
        int work = nodeEvents.poll(nodeAssembler, FRAGMENT_LIMIT);
        work += ingress.poll(ingressAssembler, FRAGMENT_LIMIT);
        work += commands.drain(Runnable::run, FRAGMENT_LIMIT);
        final long now = clock.nanoTime();
        if (now - nextHealthCheckNs >= 0) {
            nextHealthCheckNs = now + HEALTH_CHECK_INTERVAL_NS;
            work += nodes.checkHeartbeats(now) + scheduler.expireQueued();
        }
        work += scheduler.dispatch();
        return journal == null ? work : work + journal.flush(); // this cycle's delivered tokens, one entry a request
    }

    // ---- client side -------------------------------------------------------------------------------------------

    private RouterRequest accept(long clientId, long clientRequestId, CompletionInput input, ResponseListener listener) {
        final ValidatedRequest request;
        try {
            request = validator.validate(input);
        } catch (RequestRejectedException e) {
            metrics.rejected(e.code());
            log.accept(RequestScheduler.refusedLine(e.code(), e.getMessage()));
            listener.onError(e.code(), e.getMessage());
            return null;
        }
        return scheduler.accept(clientId, clientRequestId, request, listener);
    }

    void onClientGenerate(long clientId, long clientRequestId, CompletionInput input) {
        if (scheduler.hasClientRequest(clientId, clientRequestId)) {
            rejectAeron(clientId, clientRequestId, ErrorCode.BAD_REQUEST,
                    "request id " + clientRequestId + " is already in use by this client");
            return;
        }
        accept(clientId, clientRequestId, input, new AeronResponder(clientId, clientRequestId));
    }

    /**
     * A client sent request {@code clientRequestId} again, lacking its tokens from {@code resumeFromIndex} on (it
     * reconnected, possibly to this router after a restart, possibly as a new client object). Returns true when that
     * settles it: a request running here sends its tokens again from that index (the client drops any it had) and
     * runs on; one this router reported failed at the client's hello was answered already; one of which the client
     * has tokens but this router does not run cannot be continued and is answered ROUTER_RESTARTED once. Returns
     * false when the client saw nothing of a request this router does not run (never accepted, lost in a dead
     * router's ingress): it is then served as a new request, which gives the client one whole, exactly-once stream.
     */
    boolean onClientSentAgain(long clientId, long clientRequestId, int resumeFromIndex) {
        if (scheduler.hasClientRequest(clientId, clientRequestId)) {
            scheduler.sendAgain(clientId, clientRequestId, resumeFromIndex);
            return true;
        }
        if (restarted != null && restarted.reported(clientId, clientRequestId)) {
            return true;
        }
        if (resumeFromIndex <= 0) {
            return false;
        }
        rejectAeron(clientId, clientRequestId, ErrorCode.ROUTER_RESTARTED, "request " + clientRequestId
                + " is not running on this router and cannot be continued: its client already has " + resumeFromIndex
                + " tokens of it, and it ended before its end reached the client or was never journaled");
        return true;
    }

    void rejectAeron(long clientId, long clientRequestId, ErrorCode code, String message) {
        metrics.rejected(code);
        log.accept(RequestScheduler.refusedLine(code, message));
        if (!egress.error(clientId, clientRequestId, code, message)) {
            metrics.egressDropped++;
        }
    }

    /**
     * Whether a hello (node or client) proves the shared secret, fresh and not seen before; a refusal is counted and
     * logged once per session.
     */
    boolean helloProved(PeerAuthenticator.Refused what, int sessionId, String who, DirectBuffer buffer, int offset,
                        int signedLength, long proofTimestampNs, long proofNonce, int proofLength,
                        PeerAuthenticator.ProofReader proof) {
        return authenticator.acceptHello(what, sessionId, who, buffer, offset, signedLength, proofTimestampNs,
                proofNonce, proofLength, proof, epochClock.nanoTime());
    }

    /** A client's hello on ingress session {@code sessionId} proved the secret: that session speaks for it. */
    void onClientProved(int sessionId, long clientId) {
        authenticator.clientProved(sessionId, clientId);
    }

    /** Whether a client request or cancel on {@code sessionId} comes from the session that proved its client id. */
    boolean clientMessageProved(int sessionId, long clientId) {
        return authenticator.acceptClientMessage(sessionId, clientId);
    }

    void onClientCancel(long clientId, long clientRequestId) {
        scheduler.cancel(clientId, clientRequestId);
    }

    /** A client (re)connected: continue the requests a previous router run accepted from it and never completed. */
    void onClientHello(long clientId) {
        if (restarted != null) {
            restarted.onClientHello(clientId, scheduler, AeronResponder::new);
        }
    }

    // ---- node side ---------------------------------------------------------------------------------------------

    /**
     * A proved (or, without a secret, any) NodeHello: the node joins, and its events session and the heartbeat session
     * it named ({@link PeerAuthenticator#NO_SESSION} for none) speak for it from now on.
     */
    void onNodeHello(int nodeId, int eventsSessionId, int heartbeatSessionId, NodeRole role, int totalPages,
                     int pageSize, String modelName, String controlChannel, int controlStreamId, String kvChannel,
                     int kvStreamId, String kvAckChannel, int kvAckStreamId, byte[] kvEndpoint) {
        if (nodes.onHello(nodeId, eventsSessionId, role, totalPages, pageSize, modelName, controlChannel,
                controlStreamId, kvChannel, kvStreamId, kvAckChannel, kvAckStreamId, kvEndpoint, clock.nanoTime())) {
            authenticator.nodeProved(eventsSessionId, heartbeatSessionId, nodeId);
            nodes.node(nodeId).commands.proveRouter(); // the node may be new or restarted: its door needs our proof
        }
    }

    /**
     * A heartbeat claiming {@code nodeId}, from events session {@code sessionId}. A node this router does not know is
     * ignored (it must say hello first, and its liveness thread may beat before its hello lands); a known node's
     * heartbeat counts only from a session its proved hello bound to it.
     */
    void onHeartbeat(int sessionId, int nodeId, int freePages, int cachedPages, long prefixLookupTokens,
                     long prefixHitTokens, long prefixEvictions, long prefixResends, long kvRefused) {
        if (!nodes.knows(nodeId) || !authenticator.acceptNodeMessage(sessionId, "Heartbeat", nodeId)) {
            return;
        }
        nodes.onHeartbeat(nodeId, freePages, clock.nanoTime());
        nodes.onKvRefusedReport(nodeId, kvRefused);
        nodes.onPrefixCacheReport(nodeId, cachedPages, prefixLookupTokens, prefixHitTokens, prefixEvictions,
                prefixResends);
    }

    void onFirstToken(int sessionId, long attemptId, int tokenId, long epochNanos) {
        if (fromAttemptNode(sessionId, "FirstToken", scheduler.prefillNodeOf(attemptId))) {
            scheduler.onFirstToken(attemptId, tokenId, epochNanos);
        }
    }

    void onPrefillDone(int sessionId, long attemptId, int firstToken, short kvStatus, KvPath kvPath, long kvBytes) {
        if (fromAttemptNode(sessionId, "PrefillDone", scheduler.prefillNodeOf(attemptId))) {
            scheduler.onPrefillDone(attemptId, firstToken, kvStatus, kvPath, kvBytes);
        }
    }

    void onNodeToken(int sessionId, long attemptId, int index, int tokenId, long epochNanos) {
        if (fromAttemptNode(sessionId, "TokenEvent", scheduler.decodeNodeOf(attemptId))) {
            scheduler.onNodeToken(attemptId, index, tokenId, epochNanos);
        }
    }

    void onDecodeDone(int sessionId, long attemptId, FinishReason reason) {
        if (fromAttemptNode(sessionId, "DecodeDone", scheduler.decodeNodeOf(attemptId))) {
            scheduler.onDecodeDone(attemptId, reason);
        }
    }

    /**
     * Whether an event of a running attempt comes from a session bound to the node the attempt placed in that role
     * ({@code nodeId}); an event of an attempt not running ({@link RequestScheduler#NO_NODE}) goes on, for the
     * scheduler to ignore as it ignores any late event.
     */
    private boolean fromAttemptNode(int sessionId, String kind, int nodeId) {
        return nodeId == RequestScheduler.NO_NODE || authenticator.acceptNodeMessage(sessionId, kind, nodeId);
    }

    /** On Aeron's conductor thread: a node's events stream went away; the router thread declares that node dead. */
    private void onNodeEventsImageUnavailable(Image image) {
        final int sessionId = image.sessionId();
        commands.offer(() -> { // when full, the heartbeat timeout still finds the node; the stale binding is harmless
            authenticator.nodeSessionClosed(sessionId);
            nodes.onEventsImageClosed(sessionId);
        });
    }

    /** On Aeron's conductor thread: a client's ingress stream went away; its session proves nothing any more. */
    private void onIngressImageUnavailable(Image image) {
        final int sessionId = image.sessionId();
        commands.offer(() -> authenticator.sessionClosed(sessionId));
    }

    @Override
    public void onClose() {
        CloseHelper.closeAll(nodes, nodeEvents, ingress, egress, journal);
    }

    /** Delivers one Aeron client's request on the shared egress stream, tagged with its client id. */
    private final class AeronResponder implements ResponseListener {
        private final long clientId;
        private final long clientRequestId;

        AeronResponder(long clientId, long clientRequestId) {
            this.clientId = clientId;
            this.clientRequestId = clientRequestId;
        }

        @Override
        public void onToken(int index, int tokenId, String text, FinishReason finish, long epochNanos, int promptTokens) {
            if (!egress.token(clientId, clientRequestId, index, tokenId, text, finish, epochNanos, promptTokens)) {
                metrics.egressDropped++;
            }
        }

        @Override
        public void onError(ErrorCode code, String message) {
            if (!egress.error(clientId, clientRequestId, code, message)) {
                metrics.egressDropped++;
            }
        }
    }
}
