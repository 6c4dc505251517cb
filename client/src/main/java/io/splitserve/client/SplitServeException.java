package io.splitserve.client;

import io.splitserve.sbe.ErrorCode;

/**
 * A request that ended in an error, with the router's code and a one-line message. {@link #describe} says what
 * each code means for the caller, so every failure reads clearly without looking codes up.
 */
public final class SplitServeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient ErrorCode code;

    public SplitServeException(ErrorCode code, String message) {
        super(describe(code) + ": " + message, null, false, false);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }

    static String describe(ErrorCode code) {
        return switch (code) {
            case BAD_REQUEST -> "invalid request";
            case PROMPT_TOO_LONG -> "prompt too long";
            case OVERLOADED -> "server overloaded, retry later";
            case UNKNOWN_REQUEST -> "unknown request";
            case NODE_FAILED -> "a serving node failed";
            case KV_TRANSFER_FAILED -> "KV cache transfer failed";
            case INTERNAL -> "internal server error";
            case UNKNOWN_MODEL -> "unknown model";
            case ROUTER_RESTARTED -> "router restarted";
            case TIMEOUT -> "timed out";
            default -> "error " + code;
        };
    }
}
