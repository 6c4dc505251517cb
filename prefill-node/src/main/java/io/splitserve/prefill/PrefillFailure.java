package io.splitserve.prefill;

import io.splitserve.engine.kv.OutOfPagesException;
import io.splitserve.sbe.KvTransferStatus;

/**
 * What a prefill node tells the router when a batch's prefill throws: the status names the true cause, so the router
 * does not take the node's own failure for a full decode node. Only a lack of KV pages is {@code REJECTED_NO_MEMORY}
 * (a transient cause: the router may re-queue the request); anything else, a runner or device error included, is
 * {@code FAILED_PREFILL}.
 */
final class PrefillFailure {
    private PrefillFailure() {
    }

    static KvTransferStatus statusOf(RuntimeException failure) {
        if (failure == null) {
            throw new IllegalArgumentException("a failure is required");
        }
        return failure instanceof OutOfPagesException ? KvTransferStatus.REJECTED_NO_MEMORY
                : KvTransferStatus.FAILED_PREFILL;
    }
}
