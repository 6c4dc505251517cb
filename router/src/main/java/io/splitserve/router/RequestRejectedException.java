package io.splitserve.router;

import io.splitserve.sbe.ErrorCode;

/** A request the router will not serve, with the wire error code and a one-line reason meant for the client. */
public final class RequestRejectedException extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient ErrorCode code;

    public RequestRejectedException(ErrorCode code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }
}
