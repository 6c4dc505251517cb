package io.splitserve.prefill;

import io.splitserve.sbe.KvPath;
import io.splitserve.model.SamplingParams;
import io.splitserve.kvtransfer.KvSender;

/**
 * A PrefillRequest waiting for its batch: the prompt, how to sample its first token and where its KV goes (the KV
 * sender of the decode node's stream, and the decode node's KV endpoint: opaque bytes from its NodeHello that the
 * router passed on, empty when the decode node announced none).
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
