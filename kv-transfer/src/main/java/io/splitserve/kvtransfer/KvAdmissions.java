package io.splitserve.kvtransfer;

/**
 * The receiving node's word on which transfers it expects: asked by the {@link KvReceiver} at each KvTransferBegin,
 * before anything is reserved, on the receiver's thread. A decode node answers from the DecodeAdmits it holds;
 * {@link #ANY} (the default) takes every Begin, for receivers with no router behind them (benchmarks, protocol tests).
 */
@FunctionalInterface
public interface KvAdmissions
{
    /** Takes every Begin. */
    KvAdmissions ANY = (requestId, attemptToken, senderNodeId) -> KvBeginCheck.ADMITTED;

    /**
     * @param attemptToken the Begin's attempt token, 0 when its sender sent none (a sender older than schema version 5)
     * @param senderNodeId the Begin's sender node id, 0 when its sender sent none
     */
    KvBeginCheck check(long requestId, long attemptToken, int senderNodeId);
}
