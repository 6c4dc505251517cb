package io.splitserve.decode;

import io.splitserve.engine.ImportedKv;
import io.splitserve.model.SamplingParams;

/**
 * One request on its way into a decode node: how to decode it and whose KV to take (from DecodeAdmit) and, once they
 * arrive, its verified
 * KV and first token (or, colocated, its prompt). It becomes ready when both halves are here; then, while running,
 * it counts the tokens this attempt produced (the first token, sampled by the prefill node, included).
 */
final class DecodeTicket {
    /** The router epoch of a ticket no DecodeAdmit of a version-6 router placed: never dropped for a newer router. */
    static final long NO_EPOCH = Long.MIN_VALUE;

    final long requestId;
    final long createdNs;
    SamplingParams params;
    int maxNewTokens;
    int sampledBefore;
    int[] stopTokens;
    boolean admitted;
    /** From DecodeAdmit: the only token and prefill node whose KvTransferBegin may carry this sequence (0: none). */
    long attemptToken;
    int prefillNodeId;
    /** From DecodeAdmit: the epoch of the router instance that placed it, or {@link #NO_EPOCH}. */
    long routerEpoch = NO_EPOCH;
    ImportedKv kv;
    int firstToken = -1;
    int[] prompt;
    long sequenceId = -1;
    int generated;

    DecodeTicket(long requestId, long createdNs) {
        this.requestId = requestId;
        this.createdNs = createdNs;
    }

    boolean ready(boolean colocated) {
        return admitted && (colocated ? prompt != null : kv != null);
    }

    boolean isStopToken(int token) {
        for (int stop : stopTokens) {
            if (stop == token) {
                return true;
            }
        }
        return false;
    }
}
