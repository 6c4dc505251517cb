package io.splitserve.prefill;

import io.splitserve.sbe.KvPath;
import io.splitserve.model.SamplingParams;
import io.splitserve.kvtransfer.KvSender;

/**
 * A PrefillRequest waiting for its batch: the prompt, how to sample its first token and where its KV goes (the KV
 * sender of the decode node's stream, and the decode node's KV endpoint: opaque bytes from its NodeHello that the
 * router passed on, empty when the decode node announced none), and how many leading prompt tokens the decode node
 * likely holds in its prefix cache (the router's word; 0 once the decode node said it no longer holds them), and the
 * attempt token its transfer's Begin carries.
 */
final class PendingPrefill {
    final long requestId;
    final int[] promptTokens;
    final SamplingParams params;
    final int sampledTokens;
    final KvSender sender;
    final byte[] decodeKvEndpoint;
    final long arrivedNs;
    /** The decode peer as the KV path choice knows it, and the path this attempt's KV takes. */
    String peerKey = "";
    KvPath kvPath = KvPath.HOST;
    boolean streaming;
    /** The router's token for this attempt (0: none), repeated in the transfer's Begin for the decode node to check. */
    long attemptToken;
    /** Leading prompt tokens the decode node likely holds: the most this prefill may take from its own cache. */
    int decodeCachedTokens;
    /** Leading prompt tokens this attempt's prefill took from the cache and its transfer left out. */
    int cachedTokens;
    /** The router has this request's first token, or its successful PrefillDone: a resend does not repeat them. */
    boolean firstTokenSent;
    boolean doneSent;

    PendingPrefill(long requestId, int[] promptTokens, SamplingParams params, int sampledTokens, KvSender sender,
                   byte[] decodeKvEndpoint, long arrivedNs) {
        this.requestId = requestId;
        this.promptTokens = promptTokens;
        this.params = params;
        this.sampledTokens = sampledTokens;
        this.sender = sender;
        this.decodeKvEndpoint = decodeKvEndpoint;
        this.arrivedNs = arrivedNs;
    }
}
