package io.splitserve.router;

/**
 * Why a request's attempt ended without finishing it and the request was queued again; the label of the router's
 * {@code splitserve_attempt_retries_total} counter.
 */
enum RetryReason {
    /** The prefill node died before the prefill ended. */
    PREFILL_NODE_FAILED,
    /** The prefill node's prefill failed for a reason other than a lack of pages (FAILED_PREFILL). */
    PREFILL_FAILED,
    /** The decode node died while holding the sequence. */
    DECODE_NODE_FAILED,
    /** The decode node ran out of KV pages and preempted the sequence. */
    PREEMPTED,
    /** The KV transfer failed (checksum, timeout, incompatible, disconnected) or the decode node could not admit it. */
    KV_TRANSFER_FAILED,
    /** The decode node had no free pages for the transfer (REJECTED_NO_MEMORY). */
    NO_MEMORY;

    String label() {
        return name().toLowerCase();
    }
}
