package io.splitserve.router;

import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Carries one HTTP request's results from the router's thread to the HTTP thread that answers it: the router adds
 * events without blocking, the HTTP thread takes them in order.
 */
final class HttpResponder implements ResponseListener {
    /** A token event, or (with {@code error} set) the request's error. */
    record Event(int index, int tokenId, String text, FinishReason finish, long epochNanos, int promptTokens,
                 ErrorCode error, String message) {
        boolean last() {
            return error != null || finish != FinishReason.NONE;
        }
    }

    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();

    @Override
    public void onToken(int index, int tokenId, String text, FinishReason finish, long epochNanos, int promptTokens) {
        events.add(new Event(index, tokenId, text, finish, epochNanos, promptTokens, null, null));
    }

    @Override
    public void onError(ErrorCode code, String message) {
        events.add(new Event(-1, -1, "", FinishReason.ERROR, 0, 0, code, message));
    }

    /** The next event, or null after {@code timeoutNs} without one. */
    Event next(long timeoutNs) throws InterruptedException {
        return events.poll(timeoutNs, TimeUnit.NANOSECONDS);
    }
}
