package io.splitserve.router;

import io.splitserve.tokenizer.IncrementalDetokenizer;
import io.splitserve.tokenizer.StopStringMatcher;
import io.splitserve.tokenizer.Tokenizer;
import java.util.Arrays;
import org.agrona.collections.Int2IntHashMap;
import org.agrona.collections.IntArrayList;

/**
 * One accepted request through its whole life in the router: the tokens delivered so far, its detokenizer and
 * stop-string state, tokens that arrived early, and its {@link Attempt} (where it runs now). Tokens arrive with
 * the attempt's local indices, which the attempt maps onto the request's; tokens that arrive before their turn (the
 * prefill node's first token and the decode node's second travel on different streams) wait in {@code early} until
 * the gap closes, so delivery is exactly once and in order. Router-thread only.
 */
final class RouterRequest {
    enum Phase { QUEUED, RUNNING, DONE }

    final long routerId;
    final long clientId;
    final long clientRequestId;
    final ValidatedRequest request;
    final ResponseListener listener;
    final IncrementalDetokenizer detokenizer;
    final StopStringMatcher stops;
    final IntArrayList delivered = new IntArrayList();
    final Int2IntHashMap early = new Int2IntHashMap(-1);
    final Attempt attempt;
    final long acceptedNs;
    /** How many of the delivered tokens the journal holds (or will hold at its next flush). */
    int journaledTokens;
    /** Tokens an earlier run of the router delivered, replayed when this run re-admitted the request (else 0). */
    int replayedTokens;
    long queuedSinceNs;
    long lastTokenNs;
    Phase phase = Phase.QUEUED;

    RouterRequest(long routerId, long clientId, long clientRequestId, ValidatedRequest request,
                  ResponseListener listener, Tokenizer tokenizer, int maxAttempts, long nowNs) {
        this.routerId = routerId;
        this.clientId = clientId;
        this.clientRequestId = clientRequestId;
        this.request = request;
        this.listener = listener;
        this.detokenizer = new IncrementalDetokenizer(tokenizer, true);
        this.stops = new StopStringMatcher(request.stopStrings());
        this.attempt = new Attempt(maxAttempts);
        this.acceptedNs = nowNs;
        this.queuedSinceNs = nowNs;
    }

    /**
     * The prompt of the next attempt: the original prompt followed by every token delivered so far (the original
     * array itself while nothing was delivered; callers never change it).
     */
    int[] attemptPrompt() {
        final int[] prompt = request.promptTokens();
        if (delivered.isEmpty()) {
            return prompt;
        }
        final int[] out = Arrays.copyOf(prompt, prompt.length + delivered.size());
        for (int i = 0; i < delivered.size(); i++) {
            out[prompt.length + i] = delivered.getInt(i);
        }
        return out;
    }

    /**
     * The tokens whose KV a decode node computed for this request by its end: the prompt and every delivered token but
     * the last (which was sampled, never fed back).
     */
    int[] computedTokens() {
        final int[] prompt = request.promptTokens();
        final int generated = Math.max(0, delivered.size() - 1);
        final int[] out = Arrays.copyOf(prompt, prompt.length + generated);
        for (int i = 0; i < generated; i++) {
            out[prompt.length + i] = delivered.getInt(i);
        }
        return out;
    }

    /** New tokens still allowed. */
    int remainingTokens() {
        return request.maxNewTokens() - delivered.size();
    }

    boolean isStopToken(int token) {
        for (int id : request.stopTokenIds()) {
            if (id == token) {
                return true;
            }
        }
        return false;
    }
}
