package io.splitserve.kvtransfer;

/**
 * What a receiver's {@link KvAdmissions} says of a KvTransferBegin: whether the (request id, attempt token, sender node
 * id) it carries match an admission the receiving node holds. The matching rule lives here, in {@link #match}, so every
 * node applies the same one: a token or sender a peer older than schema version 5 could not send (0 here) is not
 * compared unless tokens are required (a shared secret is configured), and any value present on both sides must be
 * equal.
 */
public enum KvBeginCheck
{
    /** An admission waits for this transfer, and its token and sender match: the Begin may reserve pages. */
    ADMITTED,
    /** No admission waits for this request id (not yet, or no longer): the receiver may hold the Begin briefly. */
    NOT_ADMITTED,
    /** The admission's attempt token differs from the Begin's. */
    WRONG_TOKEN,
    /** The Begin comes from another prefill node than the one the admission names. */
    WRONG_SENDER,
    /** Tokens are required and the Begin (or the admission) carries none. */
    MISSING_TOKEN;

    /**
     * The check of a Begin against the admission its request id names.
     *
     * @param admittedToken  the admission's attempt token, 0 when its router sent none
     * @param admittedSender the prefill node the admission names, 0 when unknown
     * @param beginToken     the Begin's attempt token, 0 when its sender sent none
     * @param beginSender    the Begin's sender node id, 0 when its sender sent none
     * @param tokenRequired  true with a shared secret: both tokens and the sender must be present
     */
    public static KvBeginCheck match(
        final long admittedToken,
        final int admittedSender,
        final long beginToken,
        final int beginSender,
        final boolean tokenRequired)
    {
        if (tokenRequired && (admittedToken == 0 || beginToken == 0 || admittedSender == 0 || beginSender == 0))
        {
            return MISSING_TOKEN;
        }
        if (admittedToken != 0 && beginToken != 0 && admittedToken != beginToken)
        {
            return WRONG_TOKEN;
        }
        if (admittedSender != 0 && beginSender != 0 && admittedSender != beginSender)
        {
            return WRONG_SENDER;
        }
        return ADMITTED;
    }
}
