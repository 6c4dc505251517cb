package io.splitserve.router;

import io.splitserve.tokenizer.StopStringMatcher;
import io.splitserve.tokenizer.IncrementalDetokenizer;
import io.splitserve.tokenizer.Tokenizer;
import java.util.Arrays;
import org.agrona.collections.Int2IntHashMap;
import org.agrona.collections.IntArrayList;

/**
 * One accepted request through its whole life in the router: its tokens so far, its detokenizer and stop-string
 * state, and its current attempt (a prefill node + decode node pair, or a colocated node; an attempt id names its
 * KV transfer and its decode sequence). Tokens of an attempt arrive with attempt-local indices; {@code attemptBase}
 * maps them onto the request's, and tokens that arrive early (the prefill node's first token and the decode node's
 * second travel on different streams) wait in {@code early} until the gap closes, so delivery is exactly once and in
 * order. Router-thread only.
 */
final class RouterRequest {
    enum Phase { QUEUED, PREFILLING, DECODING, DONE }

    final long routerId;
    final long clientId;
    final long clientRequestId;
    final ValidatedRequest request;
    final ResponseListener listener;
    final IncrementalDetokenizer detokenizer;
    final StopStringMatcher stops;
    final IntArrayList generated = new IntArrayList();
    final Int2IntHashMap early = new Int2IntHashMap(-1);
    final long acceptedNs;
    long queuedSinceNs;
    long lastTokenNs;
    Phase phase = Phase.QUEUED;
    long attemptId;
    int attemptBase;
    int attempts;
    long committedPages;
    int pendingPromptTokens;
    NodeState prefillNode;
    NodeState decodeNode;

    RouterRequest(long routerId, long clientId, long clientRequestId, ValidatedRequest request,
                  ResponseListener listener, Tokenizer tokenizer, long nowNs) {
        this.routerId = routerId;
        this.clientId = clientId;
        this.clientRequestId = clientRequestId;
        this.request = request;
        this.listener = listener;
        this.detokenizer = new IncrementalDetokenizer(tokenizer, true);
        this.stops = new StopStringMatcher(request.stopStrings());
        this.acceptedNs = nowNs;
        this.queuedSinceNs = nowNs;
    }

    /** The prompt of the next attempt: the original prompt followed by every token generated so far. */
    int[] attemptPrompt() {
        final int[] prompt = request.promptTokens();
        final int[] out = Arrays.copyOf(prompt, prompt.length + generated.size());
        for (int i = 0; i < generated.size(); i++) {
            out[prompt.length + i] = generated.getInt(i);
        }
        return out;
    }

    int remainingTokens() {
        return request.maxNewTokens() - generated.size();
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
