package io.splitserve.router;

import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import io.splitserve.sbe.KvPath;
import io.splitserve.sbe.KvTransferStatus;
import io.splitserve.tokenizer.IncrementalDetokenizer;
import io.splitserve.tokenizer.StopStringMatcher;
import io.splitserve.tokenizer.Tokenizer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.EpochNanoClock;
import org.agrona.concurrent.NanoClock;

/**
 * Every accepted request from acceptance to its end: it queues them, places each as an {@link Attempt} where the
 * {@link PlacementPolicy} says, follows the attempt through its node events (first token, prefill done, tokens,
 * decode done),
 * moves the attempts of a node that died, and delivers tokens to the request's listener exactly once, in order,
 * detokenized with stop strings applied, until a stop token, a stop string, max tokens, a cancel or an error.
 *
 * <p>An attempt that ends unfinished puts its request back at the head of the queue: after its decode node or its
 * unfinished prefill's node died, after a KV transfer failure, or after preemption or REJECTED_NO_MEMORY (which do
 * not count against the attempt limit; the decode node is then treated as full until its next heartbeat). The next
 * attempt re-prefills prompt + tokens delivered so far. A request fails with NODE_FAILED when no decode node is left
 * for it, with the attempt's error after {@code maxAttempts} attempts, with TIMEOUT after waiting in the queue for
 * {@code queueTimeoutNs}, and with INTERNAL when a node reports an outcome this router does not know.
 *
 * <p>It talks to nodes only through {@link NodeCommands} and to clients only through {@link ResponseListener}; time
 * comes from the context's clocks. Router-thread only.
 */
final class RequestScheduler {
    private final RouterContext ctx;
    private final NodeRegistry nodes;
    private final PlacementPolicy placement;
    private final RouterMetrics metrics;
    private final RequestJournal journal;
    private final Tokenizer tokenizer;
    private final NanoClock clock;
    private final EpochNanoClock epochClock;
    private final ArrayDeque<RouterRequest> queue = new ArrayDeque<>();
    private final Long2ObjectHashMap<RouterRequest> active = new Long2ObjectHashMap<>();
    /** What {@link #prefillNodeOf} and {@link #decodeNodeOf} answer for an attempt that is not running. */
    static final int NO_NODE = Integer.MIN_VALUE;

    private final Long2ObjectHashMap<RouterRequest> byAttempt = new Long2ObjectHashMap<>();
    private final Map<String, RouterRequest> byClientKey = new HashMap<>();
    private final Map<ResponseListener, RouterRequest> byListener = new IdentityHashMap<>();
    private final AttemptTokens attemptTokens = new AttemptTokens();
    private long lastRouterId;
    private long lastAttemptId;

    /**
     * @param journal      where acceptances and completions are recorded; null for none
     * @param lastRouterId the highest router id already used (by an earlier run); new ids follow it, and attempt ids
     *                     start far above any attempt id that run could have used
     */
    RequestScheduler(RouterContext ctx, NodeRegistry nodes, PlacementPolicy placement, RouterMetrics metrics,
                     RequestJournal journal, Tokenizer tokenizer, long lastRouterId) {
        this.ctx = ctx;
        this.nodes = nodes;
        this.placement = placement;
        this.metrics = metrics;
        this.journal = journal;
        this.tokenizer = tokenizer;
        this.clock = ctx.nanoClock();
        this.epochClock = ctx.epochNanoClock();
        this.lastRouterId = lastRouterId;
        this.lastAttemptId = lastRouterId << 8;
    }

    // ---- intake ------------------------------------------------------------------------------------------------

    /**
     * Accepts a validated request and queues it; null, with the listener told OVERLOADED, when
     * {@code maxQueuedRequests} already wait. {@code clientId} 0 means a caller without a client id (HTTP).
     */
    RouterRequest accept(long clientId, long clientRequestId, ValidatedRequest request, ResponseListener listener) {
        if (queue.size() >= ctx.maxQueuedRequests()) {
            final String message = queue.size() + " requests are already waiting"
                    + " (--max-queued-requests " + ctx.maxQueuedRequests() + "); retry later";
            metrics.rejected(ErrorCode.OVERLOADED);
            ctx.log().accept(refusedLine(ErrorCode.OVERLOADED, message));
            listener.onError(ErrorCode.OVERLOADED, message);
            return null;
        }
        final RouterRequest r = new RouterRequest(++lastRouterId, clientId, clientRequestId, request, listener,
                tokenizer, ctx.maxAttempts(), clock.nanoTime());
        if (journal != null) {
            journal.accepted(r);
        }
        metrics.accepted++;
        active.put(r.routerId, r);
        byListener.put(listener, r);
        if (clientId != 0) {
            byClientKey.put(clientKey(clientId, clientRequestId), r);
        }
        queue.add(r);
        return r;
    }

    /**
     * Re-admits a request an earlier run of the router accepted and never completed, as a continuation under its
     * old router id: the tokens it had delivered ({@code journaledTokens}) go to the listener again with their
     * indices (a client drops those it already has), then it queues, and its attempt re-prefills prompt + those
     * tokens with the remaining max tokens and the sampler's counter at their number, so the tokens that follow are
     * the ones an uninterrupted run would have given. It is never refused for a full queue: it was admitted once.
     * Returns null when the replayed tokens already end it (a stop or max tokens whose completion was not
     * journaled): it is then completed as usual.
     */
    RouterRequest readmit(long routerId, long clientId, long clientRequestId, ValidatedRequest request,
                          int[] journaledTokens, ResponseListener listener) {
        final RouterRequest r = new RouterRequest(routerId, clientId, clientRequestId, request, listener, tokenizer,
                ctx.maxAttempts(), clock.nanoTime());
        metrics.recovered++;
        active.put(r.routerId, r);
        byListener.put(listener, r);
        if (clientId != 0) {
            byClientKey.put(clientKey(clientId, clientRequestId), r);
        }
        r.journaledTokens = journaledTokens.length;
        r.replayedTokens = journaledTokens.length;
        final long now = epochClock.nanoTime();
        for (int token : journaledTokens) {
            deliver(r, token, now, false);
            if (r.phase == RouterRequest.Phase.DONE) {
                return null;
            }
        }
        queue.add(r);
        return r;
    }

    /** Whether the Aeron client already has a running request with this id. */
    boolean hasClientRequest(long clientId, long clientRequestId) {
        return byClientKey.containsKey(clientKey(clientId, clientRequestId));
    }

    /**
     * Sends the Aeron client's running request's delivered tokens again from {@code fromIndex} on, with the text each
     * had (a fresh detokenizer over the same tokens gives the same pieces), for a client that sent the request again
     * after a reconnect; it drops the indices it had. Tokens delivered later follow on the same stream, in order.
     */
    void sendAgain(long clientId, long clientRequestId, int fromIndex) {
        final RouterRequest r = byClientKey.get(clientKey(clientId, clientRequestId));
        if (r == null || fromIndex >= r.delivered.size()) {
            return;
        }
        final IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, true);
        final StopStringMatcher stops = new StopStringMatcher(r.request.stopStrings());
        final long now = epochClock.nanoTime();
        for (int i = 0; i < r.delivered.size(); i++) { // none of them ended the request: it still runs
            final int token = r.delivered.getInt(i);
            final String text = stops.push(detokenizer.push(token));
            if (i >= Math.max(0, fromIndex)) {
                r.listener.onToken(i, token, text, FinishReason.NONE, now, r.request.promptTokens().length);
            }
        }
    }

    /** Cancels the Aeron client's request, if it is still running; it ends with a CANCELLED event. */
    void cancel(long clientId, long clientRequestId) {
        final RouterRequest r = byClientKey.get(clientKey(clientId, clientRequestId));
        if (r != null) {
            cancel(r);
        }
    }

    /** Cancels the request delivering to {@code listener}, if it is still running. */
    void cancel(ResponseListener listener) {
        final RouterRequest r = byListener.get(listener);
        if (r != null) {
            cancel(r);
        }
    }

    private void cancel(RouterRequest r) {
        r.listener.onToken(r.delivered.size(), -1, "", FinishReason.CANCELLED, epochClock.nanoTime(),
                r.request.promptTokens().length);
        complete(r, FinishReason.CANCELLED);
    }

    private static String clientKey(long clientId, long clientRequestId) {
        return clientId + ":" + clientRequestId;
    }

    // ---- placement ---------------------------------------------------------------------------------------------

    /** Places queued requests in order until one cannot be placed now; returns how many left the queue. */
    int dispatch() {
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

    /** Starts the request's next attempt, or fails it; false when it must wait (it stays first in the queue). */
    private boolean place(RouterRequest r) {
        final int[] prompt = r.attemptPrompt();
        final int promptTokens = prompt.length;
        final int remaining = r.remainingTokens();
        final Placement decision = placement.place(nodes.nodes(), prompt, promptTokens + remaining);
        switch (decision.outcome) {
            case WAIT:
                return false;
            case NO_KV_NODE:
                if (r.attempt.count() == 0) {
                    return false; // a decode node may still join before the queue timeout
                }
                fail(r, ErrorCode.NODE_FAILED, "the node decoding the request failed and no other decode node is"
                        + " available");
                return true;
            case NEVER_FITS:
                fail(r, ErrorCode.PROMPT_TOO_LONG, "prompt + max_tokens = " + (promptTokens + remaining)
                        + " tokens do not fit the KV cache of any decode node (largest: "
                        + decision.largestKvNodePages + " pages)");
                return true;
            default:
                return begin(r, decision, prompt, remaining);
        }
    }

    private boolean begin(RouterRequest r, Placement decision, int[] prompt, int remaining) {
        final NodeState prefill = decision.prefill;
        final NodeState decode = decision.decode;
        final long attemptId = ++lastAttemptId;
        final long attemptToken = attemptTokens.next(); // the decode node takes KV for this attempt only with it
        final int base = r.delivered.size();
        // the decode node's likely cached prefix, in its whole pages and short of the last token, need not travel
        final int decodeCached = decode == prefill || decode.pageSize <= 0 ? 0
                : Math.min(decision.decodePrefixTokens, (prompt.length - 1) / decode.pageSize * decode.pageSize);
        if (!decode.commands.admit(attemptId, attemptToken, prefill.nodeId, prompt.length, remaining, r.request, base)
                || !prefill.commands.prefill(attemptId, attemptToken, decode, prompt, remaining, r.request, base,
                        decodeCached)) {
            decode.commands.cancel(attemptId);
            return false;
        }
        r.attempt.begin(attemptId, prefill, decode, prompt.length, prompt.length + remaining, base);
        metrics.placed(decision.byPrefix, decision.prefillPrefixTokens);
        placement.onPlaced(prefill, decode, prompt);
        r.phase = RouterRequest.Phase.RUNNING;
        r.early.clear();
        byAttempt.put(attemptId, r);
        return true;
    }

    /** Fails with TIMEOUT every queued request that has waited longer than the queue timeout; returns how many. */
    int expireQueued() {
        final long now = clock.nanoTime();
        int expired = 0;
        for (Iterator<RouterRequest> it = queue.iterator(); it.hasNext(); ) {
            final RouterRequest r = it.next();
            if (now - r.queuedSinceNs > ctx.queueTimeoutNs()) {
                it.remove();
                r.phase = RouterRequest.Phase.DONE; // already out of the queue
                fail(r, ErrorCode.TIMEOUT, "no node could take the request within "
                        + TimeUnit.NANOSECONDS.toMillis(ctx.queueTimeoutNs()) + " ms (" + nodes.describeLiveNodes()
                        + ")");
                expired++;
            }
        }
        return expired;
    }

    // ---- node events -------------------------------------------------------------------------------------------

    /**
     * A prefill node sampled an attempt's first token, before its KV transfer ended: the attempt's token 0 is
     * delivered now (with any decode tokens that overtook it) and its prefill's compute is over. A first token of an
     * attempt that is unknown, ended, or no longer prefilling (a duplicate, or one that came after its PrefillDone)
     * is ignored; the PrefillDone that follows delivers nothing more.
     */
    void onFirstToken(long attemptId, int tokenId, long epochNanos) {
        final RouterRequest r = byAttempt.get(attemptId);
        if (r == null || !r.attempt.prefilling()) {
            return;
        }
        r.attempt.firstTokenSampled();
        onAttemptToken(r, 0, tokenId, epochNanos);
    }

    /**
     * A prefill node ended an attempt's prefill and KV transfer: the first token and the transfer's outcome, as the
     * raw wire value of {@link KvTransferStatus} so that a status newer than this router is recognised as unknown
     * rather than misread, and the path its bytes took ({@link KvPath#NULL_VAL} for a path this router does not
     * know). The first token is delivered here only when no FirstToken came before (a prefill node older than
     * schema version 4); a failure after the first token went out retries with that token counted as delivered.
     */
    void onPrefillDone(long attemptId, int firstToken, short kvStatus, KvPath kvPath, long kvBytes) {
        final RouterRequest r = byAttempt.get(attemptId);
        if (r == null) {
            return;
        }
        final boolean wasPrefilling = r.attempt.prefilling();
        r.attempt.endPrefill();
        final KvTransferStatus status = knownStatus(kvStatus);
        metrics.kvTransferEnded(kvPath, status == KvTransferStatus.OK);
        if (status == KvTransferStatus.OK) {
            metrics.kvTransferBytes += kvBytes;
            if (wasPrefilling) {
                onAttemptToken(r, 0, firstToken, epochClock.nanoTime());
            }
            return;
        }
        final NodeState decode = r.attempt.decodeNode();
        if (status == KvTransferStatus.REJECTED_NO_MEMORY) {
            decode.markFull();
            retry(r, RetryReason.NO_MEMORY, false, ErrorCode.KV_TRANSFER_FAILED,
                    "decode node " + decode.nodeId + " had no room for the KV (REJECTED_NO_MEMORY)", true);
        } else if (status == KvTransferStatus.FAILED_PREFILL) {
            retry(r, RetryReason.PREFILL_FAILED, true, ErrorCode.INTERNAL,
                    "the prefill failed on prefill node " + r.attempt.prefillNode().nodeId, true);
        } else if (status == null) {
            fail(r, ErrorCode.INTERNAL, "prefill node " + r.attempt.prefillNode().nodeId + " reported status "
                    + kvStatus + ", which this router does not know, for the request's prefill; the request was not"
                    + " completed");
        } else {
            retry(r, RetryReason.KV_TRANSFER_FAILED, true, ErrorCode.KV_TRANSFER_FAILED,
                    "the KV transfer to decode node " + decode.nodeId + " failed (" + status + ")", true);
        }
    }

    private static KvTransferStatus knownStatus(short raw) {
        for (KvTransferStatus status : KvTransferStatus.values()) {
            if (status != KvTransferStatus.NULL_VAL && status.value() == raw) {
                return status;
            }
        }
        return null;
    }

    /** The node of a running attempt's prefill (its colocated node when colocated), or {@link #NO_NODE}. */
    int prefillNodeOf(long attemptId) {
        final RouterRequest r = byAttempt.get(attemptId);
        return r == null ? NO_NODE : r.attempt.prefillNode().nodeId;
    }

    /** The node decoding a running attempt, or {@link #NO_NODE}. */
    int decodeNodeOf(long attemptId) {
        final RouterRequest r = byAttempt.get(attemptId);
        return r == null ? NO_NODE : r.attempt.decodeNode().nodeId;
    }

    /** A token of an attempt, with its attempt-local index (0 is the prefill node's first token). */
    void onNodeToken(long attemptId, int index, int tokenId, long epochNanos) {
        final RouterRequest r = byAttempt.get(attemptId);
        if (r == null) {
            return;
        }
        if (r.attempt.colocated()) {
            r.attempt.endPrefill(); // a colocated node's first token ends its prefill
        }
        onAttemptToken(r, index, tokenId, epochNanos);
    }

    /**
     * A decode node ended an attempt's sequence. {@code reason} is {@link FinishReason#NULL_VAL} when the wire
     * carried a value this router does not know.
     */
    void onDecodeDone(long attemptId, FinishReason reason) {
        final RouterRequest r = byAttempt.get(attemptId);
        if (r == null) {
            return;
        }
        final NodeState decode = r.attempt.decodeNode();
        switch (reason) {
            case PREEMPTED -> {
                metrics.preemptions++;
                decode.markFull();
                retry(r, RetryReason.PREEMPTED, false, ErrorCode.INTERNAL, "preempted", false);
            }
            case ERROR -> retry(r, RetryReason.KV_TRANSFER_FAILED, true, ErrorCode.KV_TRANSFER_FAILED,
                    "decode node " + decode.nodeId + " could not admit the sequence", false);
            case NULL_VAL -> fail(r, ErrorCode.INTERNAL, "decode node " + decode.nodeId
                    + " ended the request's sequence for a reason this router does not know");
            default -> { } // STOP, LENGTH, CANCELLED: the router reaches the same end from the tokens it has
        }
    }

    /**
     * A node died: the placement policy forgets what the node held, each attempt decoding on it moves to another
     * decode node (or fails with NODE_FAILED when none is left), and each attempt whose prefill or KV transfer was
     * still waiting on it is placed again.
     */
    void onNodeDied(NodeState node) {
        placement.onNodeDied(node);
        final boolean kvNodeLeft = nodes.anyKvNodeAlive();
        for (RouterRequest r : new ArrayList<>(active.values())) {
            if (r.phase != RouterRequest.Phase.RUNNING || !r.attempt.dependsOn(node)) {
                continue;
            }
            if (r.attempt.decodeNode() == node) {
                if (kvNodeLeft) {
                    retry(r, RetryReason.DECODE_NODE_FAILED, true, ErrorCode.NODE_FAILED,
                            "decode node " + node.nodeId + " stopped responding", true);
                } else {
                    fail(r, ErrorCode.NODE_FAILED, "decode node " + node.nodeId
                            + " stopped responding and no other decode node is available");
                }
            } else {
                retry(r, RetryReason.PREFILL_NODE_FAILED, true, ErrorCode.NODE_FAILED,
                        "prefill node " + node.nodeId + " stopped responding", true);
            }
        }
    }

    // ---- delivery ----------------------------------------------------------------------------------------------

    private void onAttemptToken(RouterRequest r, int localIndex, int token, long epochNanos) {
        final int index = r.attempt.requestIndex(localIndex);
        final int expected = r.delivered.size();
        if (index < expected || r.phase == RouterRequest.Phase.DONE) {
            return; // a duplicate
        }
        if (index > expected || r.attempt.prefilling()) {
            r.early.put(index, token); // a decode token overtook the prefill node's first token
            return;
        }
        deliver(r, token, epochNanos, true);
        int next;
        while (r.phase != RouterRequest.Phase.DONE && (next = r.early.remove(r.delivered.size())) != -1) {
            deliver(r, next, epochNanos, true);
        }
    }

    /**
     * Delivers the request's next token; {@code live} is false for a token replayed from the journal, which is
     * neither timed (it was sampled by an earlier run) nor journaled again.
     */
    private void deliver(RouterRequest r, int token, long epochNanos, boolean live) {
        final long now = clock.nanoTime();
        if (live && r.delivered.size() > r.replayedTokens) {
            metrics.timePerOutputToken.recordValue(Math.max(0, now - r.lastTokenNs));
        } else if (live) {
            metrics.timeToFirstToken.recordValue(Math.max(0, now - r.acceptedNs)); // since acceptance or re-admission
        }
        r.lastTokenNs = now;
        r.delivered.addInt(token);
        if (journal != null) {
            journal.delivered(r);
        }
        FinishReason finish = FinishReason.NONE;
        String text;
        if (r.isStopToken(token)) {
            finish = FinishReason.STOP;
            text = tail(r);
        } else {
            text = r.stops.push(r.detokenizer.push(token));
            if (r.stops.stopped()) {
                finish = FinishReason.STOP;
            } else if (r.delivered.size() >= r.request.maxNewTokens()) {
                text += tail(r);
                finish = r.stops.stopped() ? FinishReason.STOP : FinishReason.LENGTH;
            }
        }
        r.listener.onToken(r.delivered.size() - 1, token, text, finish, epochNanos, r.request.promptTokens().length);
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

    /**
     * Ends the current attempt and queues the request first again, unless that attempt was its last allowed one:
     * then it fails with {@code code}.
     */
    private void retry(RouterRequest r, RetryReason reason, boolean countsAgainstLimit, ErrorCode code, String why,
                       boolean tellDecodeNode) {
        endAttempt(r, countsAgainstLimit, tellDecodeNode);
        if (r.attempt.exhausted()) {
            fail(r, code, why + " (after " + r.attempt.count() + " attempts)");
            return;
        }
        metrics.retried(reason);
        r.phase = RouterRequest.Phase.QUEUED;
        r.queuedSinceNs = clock.nanoTime();
        queue.addFirst(r);
    }

    private void complete(RouterRequest r, FinishReason finish) {
        final NodeState decode = r.attempt.decodeNode();
        if (decode != null && decode.alive && r.delivered.size() > 1) {
            placement.onCompleted(decode, r.computedTokens());
        }
        metrics.finished(finish);
        end(r, finish.name().toLowerCase());
    }

    private void fail(RouterRequest r, ErrorCode code, String message) {
        metrics.rejected(code);
        ctx.log().accept(failedLine(r, code, message));
        r.listener.onError(code, message);
        end(r, "failed " + code.name().toLowerCase());
    }

    /** The log line of a request that ends in an error: code, router id, attempts and its last attempt's nodes. */
    private static String failedLine(RouterRequest r, ErrorCode code, String message) {
        final NodeState prefill = r.attempt.prefillNode();
        final NodeState decode = r.attempt.decodeNode();
        final String nodes = decode == null ? "never placed"
                : prefill == decode ? "last on colocated node " + decode.nodeId
                : "last on prefill node " + prefill.nodeId + ", decode node " + decode.nodeId;
        return "router: request " + r.routerId + " failed " + code + " after " + r.attempt.count() + " attempt(s), "
                + nodes + ": " + message;
    }

    /** The log line of a request refused before it was accepted (it has no router id and no attempt). */
    static String refusedLine(ErrorCode code, String message) {
        return "router: request refused " + code + " before acceptance: " + message;
    }

    private void end(RouterRequest r, String outcome) {
        final boolean wasQueued = r.phase == RouterRequest.Phase.QUEUED;
        r.phase = RouterRequest.Phase.DONE;
        endAttempt(r, true, true);
        if (wasQueued) {
            queue.remove(r);
        }
        active.remove(r.routerId);
        byListener.remove(r.listener);
        if (r.clientId != 0) {
            byClientKey.remove(clientKey(r.clientId, r.clientRequestId));
        }
        if (journal != null) {
            journal.completed(r.routerId, outcome);
        }
    }

    /** Ends the current attempt, if any, and optionally tells its decode node (if alive) to free the sequence. */
    private void endAttempt(RouterRequest r, boolean countsAgainstLimit, boolean tellDecodeNode) {
        if (!r.attempt.running()) {
            return;
        }
        final long attemptId = r.attempt.id();
        final NodeState decode = r.attempt.decodeNode();
        byAttempt.remove(attemptId);
        r.attempt.end(countsAgainstLimit);
        if (tellDecodeNode && decode.alive) {
            decode.commands.cancel(attemptId);
        }
        r.early.clear();
    }

    // ---- state, for metrics and tests --------------------------------------------------------------------------

    /** Requests waiting for a node. */
    int queued() {
        return queue.size();
    }

    /** Requests accepted and not ended. */
    int active() {
        return active.size();
    }
}
