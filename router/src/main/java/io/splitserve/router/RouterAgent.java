package io.splitserve.router;

import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import io.splitserve.sbe.KvTransferStatus;
import io.splitserve.sbe.NodeRole;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.EpochNanoClock;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.SystemEpochNanoClock;

/**
 * The router as one Agrona agent, the system's front door. Each duty cycle reads node events (hello, heartbeats,
 * first tokens, tokens, decode results), client requests from Aeron, and commands handed over by other threads (the
 * HTTP shim), then places queued requests on nodes and checks node health.
 *
 * <p>Lifecycle of a request: validated and tokenized (refused at once with a precise error, or OVERLOADED when
 * {@code maxQueuedRequests} are already waiting), journaled, queued, then placed as an attempt: a prefill node chosen by
 * join-shortest-queue on the prompt tokens the router has pending there, and a decode node with the most unpromised
 * KV pages that can hold prompt + max new tokens (or one colocated node). Tokens come back with attempt-local
 * indices and are delivered exactly once, in order, detokenized incrementally with stop strings applied, until a
 * stop token, a stop string, max tokens, a cancel or an error; then the completion is journaled and the decode node
 * told to free the sequence.
 *
 * <p>Failures: a decode node that stops heartbeating has its requests re-prefilled elsewhere as prompt + tokens so
 * far (the stream continues without gap or duplicate), or failed with NODE_FAILED when no decode node is left; a
 * dead prefill node's unfinished prefills go to another; preemption and KV transfer failures re-queue the request,
 * at most {@code maxAttempts} times. Requests a previous run journaled but never completed are reported to their
 * Aeron client as ROUTER_RESTARTED when it says hello again.
 *
 * <p>Single-threaded; other threads only talk to it through {@link #submit}, {@link #cancel}, {@link #metricsText}
 * and {@link #health}, which hand a command over a queue.
 */
public final class RouterAgent implements Agent {
    private static final int FRAGMENT_LIMIT = 64;
    private static final long HEALTH_CHECK_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(20);

    private final RouterContext ctx;
    private final ServedModel model;
    private final RequestValidator validator;
    private final Subscription nodeEvents;
    private final Subscription ingress;
    private final FragmentAssembler nodeAssembler;
    private final FragmentAssembler ingressAssembler;
    private final ClientEgressProxy egress;
    private final ManyToOneConcurrentArrayQueue<Runnable> commands = new ManyToOneConcurrentArrayQueue<>(4096);
    private final Int2ObjectHashMap<NodeState> nodes = new Int2ObjectHashMap<>();
    private final ArrayDeque<RouterRequest> queue = new ArrayDeque<>();
    private final Long2ObjectHashMap<RouterRequest> active = new Long2ObjectHashMap<>();
    private final Long2ObjectHashMap<RouterRequest> byAttempt = new Long2ObjectHashMap<>();
    private final Map<String, RouterRequest> byClientKey = new HashMap<>();
    private final Map<ResponseListener, RouterRequest> byListener = new IdentityHashMap<>();
    private final Map<Long, List<RequestJournal.Unfinished>> orphansByClient = new HashMap<>();
    private final RequestJournal journal;
    private final RouterMetrics metrics = new RouterMetrics();
    private final EpochNanoClock epochClock = new SystemEpochNanoClock();
    private long nextRouterId;
    private long nextAttemptId;
    private long nextHealthCheckNs;

    public RouterAgent(RouterContext context) {
        this.ctx = context.conclude();
        this.model = ctx.model();
        this.validator = new RequestValidator(model, ctx.maxInputLength(), ctx.maxOutputLength());
        this.nodeEvents = ctx.aeron().addSubscription(ctx.nodeEventsChannel(), ctx.nodeEventsStreamId());
        this.ingress = ctx.aeron().addSubscription(ctx.ingressChannel(), ctx.ingressStreamId());
        this.egress = new ClientEgressProxy(ctx.aeron().addExclusivePublication(ctx.egressChannel(), ctx.egressStreamId()));
        this.nodeAssembler = new FragmentAssembler(new NodeEventsAdapter(this));
        this.ingressAssembler = new FragmentAssembler(new ClientIngressAdapter(this));
        this.journal = ctx.journalDir() == null ? null : new RequestJournal(ctx.journalDir());
        if (journal != null) {
            nextRouterId = journal.highestRouterId();
            for (RequestJournal.Unfinished u : journal.unfinished()) {
                if (u.clientId() == 0) {
                    journal.completed(u.routerId(), "failed router-restarted"); // its HTTP connection is gone
                } else {
                    orphansByClient.computeIfAbsent(u.clientId(), c -> new ArrayList<>()).add(u);
                }
            }
        }
        nextAttemptId = nextRouterId << 8; // attempt ids of a restarted router never meet a node's old ones
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
        commands.offer(() -> {
            final RouterRequest r = byListener.get(listener);
            if (r != null) {
                cancel(r);
            }
        });
    }

    /** The Prometheus text of the router's metrics, rendered on the router's thread. */
    public CompletableFuture<String> metricsText() {
        final CompletableFuture<String> result = new CompletableFuture<>();
        if (!commands.offer(() -> result.complete(metrics.render(queue.size(), active.size(), nodes.values())))) {
            result.completeExceptionally(new IllegalStateException("router is overloaded"));
        }
        return result;
    }

    /** Live nodes by role ("prefill", "decode", "colocated"), read on the router's thread. */
    public CompletableFuture<Map<String, Integer>> health() {
        final CompletableFuture<Map<String, Integer>> result = new CompletableFuture<>();
        if (!commands.offer(() -> {
            final Map<String, Integer> counts = new HashMap<>(Map.of("prefill", 0, "decode", 0, "colocated", 0));
            for (NodeState node : nodes.values()) {
                if (node.alive) {
                    counts.merge(node.prefills() ? "prefill" : node.decodes() ? "decode" : "colocated", 1, Integer::sum);
                }
            }
            result.complete(counts);
        })) {
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
        final long now = System.nanoTime();
        if (now - nextHealthCheckNs >= 0) {
            nextHealthCheckNs = now + HEALTH_CHECK_INTERVAL_NS;
            work += checkNodes(now) + expireQueued(now);
        }
        return work + dispatch();
    }

    // ---- client side -------------------------------------------------------------------------------------------

    private RouterRequest accept(long clientId, long clientRequestId, CompletionInput input, ResponseListener listener) {
        final ValidatedRequest request;
        try {
            request = validator.validate(input);
        } catch (RequestRejectedException e) {
            metrics.rejected(e.code());
            listener.onError(e.code(), e.getMessage());
            return null;
        }
        if (queue.size() >= ctx.maxQueuedRequests()) {
            metrics.rejected(ErrorCode.OVERLOADED);
            listener.onError(ErrorCode.OVERLOADED, queue.size() + " requests are already waiting (--max-queued-requests "
                    + ctx.maxQueuedRequests() + "); retry later");
            return null;
        }
        final RouterRequest r = new RouterRequest(++nextRouterId, clientId, clientRequestId, request, listener,
                model.tokenizer(), System.nanoTime());
        if (journal != null) {
            journal.accepted(r);
        }
        metrics.accepted++;
        active.put(r.routerId, r);
        byListener.put(listener, r);
        queue.add(r);
        return r;
    }

    void onClientGenerate(long clientId, long clientRequestId, CompletionInput input) {
        final String key = clientId + ":" + clientRequestId;
        if (byClientKey.containsKey(key)) {
            rejectAeron(clientId, clientRequestId, ErrorCode.BAD_REQUEST,
                    "request id " + clientRequestId + " is already in use by this client");
            return;
        }
        final RouterRequest r = accept(clientId, clientRequestId, input, new AeronResponder(clientId, clientRequestId));
        if (r != null) {
            byClientKey.put(key, r);
        }
    }

    void rejectAeron(long clientId, long clientRequestId, ErrorCode code, String message) {
        metrics.rejected(code);
        if (!egress.error(clientId, clientRequestId, code, message)) {
            metrics.egressDropped++;
        }
    }

    void onClientCancel(long clientId, long clientRequestId) {
        final RouterRequest r = byClientKey.get(clientId + ":" + clientRequestId);
        if (r != null) {
            cancel(r);
        }
    }

    /** A client (re)connected: report the requests a previous router run accepted from it and never completed. */
    void onClientHello(long clientId) {
        final List<RequestJournal.Unfinished> orphans = orphansByClient.remove(clientId);
        if (orphans == null) {
            return;
        }
        for (RequestJournal.Unfinished u : orphans) {
            rejectAeron(clientId, u.clientRequestId(), ErrorCode.ROUTER_RESTARTED, "the router restarted before request "
                    + u.clientRequestId() + " completed; it was not run to the end, submit it again");
            journal.completed(u.routerId(), "failed router-restarted");
        }
    }

    private void cancel(RouterRequest r) {
        r.listener.onToken(r.generated.size(), -1, "", FinishReason.CANCELLED, epochClock.nanoTime(),
                r.request.promptTokens().length);
        complete(r, FinishReason.CANCELLED);
    }

    // ---- scheduling --------------------------------------------------------------------------------------------

    private int dispatch() {
        int placed = 0;
        RouterRequest r;
        while ((r = queue.peekFirst()) != null && place(r)) {
            if (queue.peekFirst() == r) { // a request failed while placing has already left the queue
                queue.pollFirst();
            }
            placed++;
        }
        return placed;
    }

    /** Starts the request's next attempt; false when no node can take it now (it stays first in the queue). */
    private boolean place(RouterRequest r) {
        final int[] prompt = r.attemptPrompt();
        final int remaining = r.remainingTokens();
        final int tokens = prompt.length + remaining;
        NodeState decode = best(NodeRole.DECODE, prompt.length, tokens);
        NodeState prefill = decode == null ? null : best(NodeRole.PREFILL, prompt.length, tokens);
        if (prefill == null) {
            decode = prefill = best(NodeRole.PREFILL_AND_DECODE, prompt.length, tokens);
        }
        if (decode == null) {
            final long mostPages = largestDecodeNodePages();
            if (mostPages < 0 && r.attempts > 0) {
                fail(r, ErrorCode.NODE_FAILED, "the node decoding the request failed and no other decode node is"
                        + " available");
                return true;
            }
            if (mostPages >= 0 && neverFits(tokens)) {
                fail(r, ErrorCode.PROMPT_TOO_LONG, "prompt + max_tokens = " + tokens
                        + " tokens do not fit the KV cache of any decode node (largest: " + mostPages + " pages)");
                return true;
            }
            return false;
        }
        final long attemptId = ++nextAttemptId;
        final int base = r.generated.size();
        if (!decode.proxy.admit(attemptId, prefill.nodeId, prompt.length, remaining, r, base)
                || !prefill.proxy.prefill(attemptId, decode, prompt, prompt.length, remaining, r, base)) {
            decode.proxy.cancel(attemptId);
            return false;
        }
        r.attempts++;
        r.attemptId = attemptId;
        r.attemptBase = base;
        r.prefillNode = prefill;
        r.decodeNode = decode;
        r.phase = RouterRequest.Phase.PREFILLING;
        r.early.clear();
        r.committedPages = decode.pagesFor(tokens);
        decode.committedPages += r.committedPages;
        r.pendingPromptTokens = prompt.length;
        prefill.pendingPromptTokens += prompt.length;
        byAttempt.put(attemptId, r);
        return true;
    }

    /**
     * The live, connected node of {@code role} to use: for prefill the one with the fewest pending prompt tokens
     * (join-shortest-queue); for decode the one with the most unpromised pages, among those that can hold
     * {@code tokens} (prompt + max new tokens) and whose last heartbeat reported room for the prompt now.
     */
    private NodeState best(NodeRole role, int promptTokens, int tokens) {
        NodeState best = null;
        for (NodeState node : nodes.values()) {
            if (!node.alive || node.role != role || !node.proxy.isConnected()) {
                continue;
            }
            if (role == NodeRole.PREFILL) {
                if (best == null || node.pendingPromptTokens < best.pendingPromptTokens) {
                    best = node;
                }
            } else if (node.pagesFor(tokens) <= node.availablePages(ctx.kvOvercommit())
                    && node.pagesFor(promptTokens + 1) <= node.reportedFreePages
                    && (best == null || node.availablePages(ctx.kvOvercommit()) > best.availablePages(ctx.kvOvercommit()))) {
                best = node;
            }
        }
        return best;
    }

    private long largestDecodeNodePages() {
        long most = -1;
        for (NodeState node : nodes.values()) {
            if (node.alive && (node.decodes() || node.colocated())) {
                most = Math.max(most, node.totalPages);
            }
        }
        return most;
    }

    private boolean neverFits(int tokens) {
        for (NodeState node : nodes.values()) {
            if (node.alive && (node.decodes() || node.colocated()) && node.pagesFor(tokens) <= node.totalPages) {
                return false;
            }
        }
        return true;
    }

    private int expireQueued(long now) {
        int expired = 0;
        for (Iterator<RouterRequest> it = queue.iterator(); it.hasNext(); ) {
            final RouterRequest r = it.next();
            if (now - r.queuedSinceNs > ctx.queueTimeoutNs()) {
                it.remove();
                r.phase = RouterRequest.Phase.DONE; // already out of the queue
                fail(r, ErrorCode.TIMEOUT, "no node could take the request within "
                        + TimeUnit.NANOSECONDS.toMillis(ctx.queueTimeoutNs()) + " ms (" + liveNodes() + ")");
                expired++;
            }
        }
        return expired;
    }

    private String liveNodes() {
        int prefill = 0;
        int decode = 0;
        for (NodeState node : nodes.values()) {
            if (node.alive) {
                prefill += node.decodes() ? 0 : 1;
                decode += node.prefills() ? 0 : 1;
            }
        }
        return prefill + " prefill-capable and " + decode + " decode-capable nodes alive";
    }

    // ---- node side ---------------------------------------------------------------------------------------------

    void onNodeHello(int nodeId, NodeRole role, int totalPages, int pageSize, String modelName, String controlChannel,
                     int controlStreamId, String kvChannel, int kvStreamId, String kvAckChannel, int kvAckStreamId) {
        if (!model.name().equals(modelName) || pageSize <= 0) {
            return; // a node serving another model is not ours to use
        }
        NodeState node = nodes.get(nodeId);
        if (node == null) {
            node = new NodeState(nodeId);
            nodes.put(nodeId, node);
        }
        if (node.proxy == null || !controlChannel.equals(node.controlChannel) || controlStreamId != node.controlStreamId) {
            CloseHelper.close(node.proxy);
            node.proxy = new NodeProxy(ctx.aeron().addExclusivePublication(controlChannel, controlStreamId));
        }
        node.role = role;
        node.controlChannel = controlChannel;
        node.controlStreamId = controlStreamId;
        node.kvChannel = kvChannel;
        node.kvStreamId = kvStreamId;
        node.kvAckChannel = kvAckChannel;
        node.kvAckStreamId = kvAckStreamId;
        node.totalPages = totalPages;
        node.pageSize = pageSize;
        if (!node.alive) {
            node.reportedFreePages = totalPages; // until its first heartbeat says otherwise
        }
        revive(node);
    }

    void onHeartbeat(int nodeId, int freePages) {
        final NodeState node = nodes.get(nodeId);
        if (node != null) {
            node.reportedFreePages = freePages;
            revive(node);
        }
    }

    private void revive(NodeState node) {
        node.lastHeardNs = System.nanoTime();
        if (!node.alive) {
            node.alive = true;
            node.pendingPromptTokens = 0;
            node.committedPages = 0;
        }
    }

    void onPrefillDone(long attemptId, int firstToken, KvTransferStatus status) {
        final RouterRequest r = byAttempt.get(attemptId);
        if (r == null) {
            return;
        }
        releasePrefill(r);
        if (status == KvTransferStatus.OK) {
            metrics.kvTransfersOk++;
            metrics.kvTransferBytes += (r.request.promptTokens().length + r.attemptBase) * model.kvBytesPerToken();
            if (r.phase == RouterRequest.Phase.PREFILLING) {
                r.phase = RouterRequest.Phase.DECODING;
                onAttemptToken(r, 0, firstToken, epochClock.nanoTime());
            }
        } else {
            metrics.kvTransfersFailed++;
            if (status == KvTransferStatus.REJECTED_NO_MEMORY) {
                r.attempts--; // the decode node was full: wait for room, as after a preemption
                r.decodeNode.reportedFreePages = 0; // and place nothing more there before its next heartbeat
            }
            retry(r, ErrorCode.KV_TRANSFER_FAILED, "the KV transfer to decode node " + r.decodeNode.nodeId
                    + " failed (" + status + ")", true);
        }
    }

    void onNodeToken(long attemptId, int index, int tokenId, long epochNanos) {
        final RouterRequest r = byAttempt.get(attemptId);
        if (r == null) {
            return;
        }
        if (r.decodeNode == r.prefillNode && r.phase == RouterRequest.Phase.PREFILLING) {
            releasePrefill(r); // a colocated node's first token ends its prefill
            r.phase = RouterRequest.Phase.DECODING;
        }
        onAttemptToken(r, index, tokenId, epochNanos);
    }

    void onDecodeDone(long attemptId, FinishReason reason) {
        final RouterRequest r = byAttempt.get(attemptId);
        if (r == null) {
            return;
        }
        if (reason == FinishReason.PREEMPTED) {
            metrics.preemptions++;
            r.attempts--; // running out of pages is not the request's fault: it may be re-queued without limit
            r.decodeNode.reportedFreePages = 0; // the node is full: wait for its next heartbeat before placing there
            retry(r, ErrorCode.INTERNAL, "preempted", false);
        } else if (reason == FinishReason.ERROR) {
            retry(r, ErrorCode.KV_TRANSFER_FAILED, "decode node " + r.decodeNode.nodeId
                    + " could not admit the sequence", false);
        }
        // STOP, LENGTH and CANCELLED: the router reached the same end from the tokens it has, or ends it on a token
        // still in flight from the prefill node.
    }

    private int checkNodes(long now) {
        int died = 0;
        for (NodeState node : nodes.values()) {
            if (node.alive && now - node.lastHeardNs > ctx.heartbeatTimeoutNs()) {
                nodeDied(node);
                died++;
            }
        }
        return died;
    }

    private void nodeDied(NodeState node) {
        node.alive = false;
        final boolean decodeLeft = largestDecodeNodePages() >= 0;
        for (RouterRequest r : new ArrayList<>(active.values())) {
            if (r.phase == RouterRequest.Phase.QUEUED || r.phase == RouterRequest.Phase.DONE) {
                continue;
            }
            if (r.decodeNode == node) {
                if (decodeLeft) {
                    retry(r, ErrorCode.NODE_FAILED, "decode node " + node.nodeId + " stopped responding", true);
                } else {
                    fail(r, ErrorCode.NODE_FAILED, "decode node " + node.nodeId
                            + " stopped responding and no other decode node is available");
                }
            } else if (r.prefillNode == node && r.phase == RouterRequest.Phase.PREFILLING) {
                retry(r, ErrorCode.NODE_FAILED, "prefill node " + node.nodeId + " stopped responding", true);
            }
        }
        node.pendingPromptTokens = 0;
        node.committedPages = 0;
    }

    // ---- delivery ----------------------------------------------------------------------------------------------

    private void onAttemptToken(RouterRequest r, int localIndex, int token, long epochNanos) {
        final int index = r.attemptBase + localIndex;
        final int expected = r.generated.size();
        if (index < expected || r.phase == RouterRequest.Phase.DONE) {
            return; // a duplicate (a re-prefilled attempt's first token repeats nothing: its base is past it)
        }
        if (index > expected || r.phase == RouterRequest.Phase.PREFILLING) {
            r.early.put(index, token); // a decode token overtook the prefill node's first token
            return;
        }
        deliver(r, token, epochNanos);
        int next;
        while (r.phase != RouterRequest.Phase.DONE && (next = r.early.remove(r.generated.size())) != -1) {
            deliver(r, next, epochNanos);
        }
    }

    private void deliver(RouterRequest r, int token, long epochNanos) {
        final long now = System.nanoTime();
        if (r.generated.isEmpty()) {
            metrics.timeToFirstToken.recordValue(Math.max(0, now - r.acceptedNs));
        } else {
            metrics.timePerOutputToken.recordValue(Math.max(0, now - r.lastTokenNs));
        }
        r.lastTokenNs = now;
        r.generated.addInt(token);
        FinishReason finish = FinishReason.NONE;
        String text;
        if (r.isStopToken(token)) {
            finish = FinishReason.STOP;
            text = tail(r);
        } else {
            text = r.stops.push(r.detokenizer.push(token));
            if (r.stops.stopped()) {
                finish = FinishReason.STOP;
            } else if (r.generated.size() >= r.request.maxNewTokens()) {
                text += tail(r);
                finish = r.stops.stopped() ? FinishReason.STOP : FinishReason.LENGTH;
            }
        }
        r.listener.onToken(r.generated.size() - 1, token, text, finish, epochNanos, r.request.promptTokens().length);
        if (finish != FinishReason.NONE) {
            complete(r, finish);
        }
    }

    /** Text held back for a possible stop string or an unfinished character, released at the end. */
    private static String tail(RouterRequest r) {
        final String flushed = r.stops.push(r.detokenizer.flush());
        return r.stops.stopped() ? flushed : flushed + r.stops.flush();
    }

    // ---- endings -----------------------------------------------------------------------------------------------

    private void retry(RouterRequest r, ErrorCode code, String reason, boolean tellDecodeNode) {
        endAttempt(r, tellDecodeNode);
        if (r.attempts >= ctx.maxAttempts()) {
            fail(r, code, reason + " (after " + r.attempts + " attempts)");
            return;
        }
        r.phase = RouterRequest.Phase.QUEUED;
        r.queuedSinceNs = System.nanoTime();
        queue.addFirst(r);
    }

    private void complete(RouterRequest r, FinishReason finish) {
        metrics.finished(finish);
        end(r, finish.name().toLowerCase());
    }

    private void fail(RouterRequest r, ErrorCode code, String message) {
        metrics.rejected(code);
        r.listener.onError(code, message);
        end(r, "failed " + code.name().toLowerCase());
    }

    private void end(RouterRequest r, String outcome) {
        final boolean wasQueued = r.phase == RouterRequest.Phase.QUEUED;
        r.phase = RouterRequest.Phase.DONE;
        endAttempt(r, true);
        if (wasQueued) {
            queue.remove(r);
        }
        active.remove(r.routerId);
        byListener.remove(r.listener);
        if (r.clientId != 0) {
            byClientKey.remove(r.clientId + ":" + r.clientRequestId);
        }
        if (journal != null) {
            journal.completed(r.routerId, outcome);
        }
    }

    /** Forgets the current attempt and what it held on its nodes; optionally tells its decode node to free it. */
    private void endAttempt(RouterRequest r, boolean tellDecodeNode) {
        if (r.attemptId == 0) {
            return;
        }
        byAttempt.remove(r.attemptId);
        releasePrefill(r);
        r.decodeNode.committedPages -= r.committedPages;
        r.committedPages = 0;
        if (tellDecodeNode && r.decodeNode.alive) {
            r.decodeNode.proxy.cancel(r.attemptId);
        }
        r.attemptId = 0;
        r.early.clear();
    }

    private static void releasePrefill(RouterRequest r) {
        if (r.pendingPromptTokens > 0) {
            r.prefillNode.pendingPromptTokens -= r.pendingPromptTokens;
            r.pendingPromptTokens = 0;
        }
    }

    @Override
    public void onClose() {
        for (NodeState node : nodes.values()) {
            CloseHelper.close(node.proxy);
        }
        CloseHelper.closeAll(nodeEvents, ingress, journal);
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
