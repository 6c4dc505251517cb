package io.splitserve.kvtransfer;

import io.splitserve.sbe.KvTransferStatus;

/**
 * Told when the sender's lease on a request's KV ends, exactly once per transfer that {@link KvSender#begin} accepted:
 * at the receiver's ack (any status), at the lease timeout (FAILED_TIMEOUT), or when the stream to the receiver
 * fails (FAILED_DISCONNECTED). The prefill side frees that request's KV pages here. Called on the sender's thread.
 */
@FunctionalInterface
public interface KvLeaseListener
{
    void onLeaseEnded(long requestId, KvTransferStatus status);
}
