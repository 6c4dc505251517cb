package io.splitserve.kvtransfer;

/**
 * Why a {@link KvReceiver} dropped a message unanswered (nothing reserved, no transfer opened or failed, no ack), each
 * with the label it is counted under ({@code splitserve_kv_refused_total{why=...}}). A refused message is never acked:
 * its request id may be a real transfer's, whose sender must not hear a stranger's verdict.
 */
public enum KvRefusal
{
    /** A Begin for a request id no admission waits for, after it was held as long as the receiver holds one. */
    UNKNOWN_REQUEST("unknown_request"),
    /** A Begin whose attempt token differs from its admission's. */
    WRONG_TOKEN("wrong_token"),
    /** A Begin from another prefill node than its admission names. */
    WRONG_SENDER("wrong_sender"),
    /** A Begin without a token, or for an admission without one, while tokens are required (a shared secret is set). */
    MISSING_TOKEN("missing_token"),
    /** A Begin, chunk, layer announcement or End of an open transfer from another publication session than its Begin's. */
    FOREIGN_SESSION("foreign_session");

    private final String label;

    KvRefusal(final String label)
    {
        this.label = label;
    }

    /** The metric label value. */
    public String label()
    {
        return label;
    }

    static KvRefusal of(final KvBeginCheck check)
    {
        return switch (check)
        {
            case WRONG_TOKEN -> WRONG_TOKEN;
            case WRONG_SENDER -> WRONG_SENDER;
            case MISSING_TOKEN -> MISSING_TOKEN;
            default -> UNKNOWN_REQUEST;
        };
    }
}
