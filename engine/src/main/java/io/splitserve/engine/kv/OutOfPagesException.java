package io.splitserve.engine.kv;

/** The page pool cannot supply the pages a sequence needs; nothing was allocated by the failing call. */
public final class OutOfPagesException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public OutOfPagesException(int needed, int free, int total) {
        super("KV cache out of pages: need " + needed + ", " + free + " free of " + total);
    }
}
