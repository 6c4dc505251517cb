package io.splitserve.router;

import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import java.util.ArrayList;
import java.util.List;

/** A request's {@link ResponseListener} that records what the client would see. */
final class RecordingListener implements ResponseListener {
    record Event(int index, int tokenId, FinishReason finish) { }

    final List<Event> tokens = new ArrayList<>();
    ErrorCode errorCode;
    String errorMessage;

    @Override
    public void onToken(int index, int tokenId, String text, FinishReason finish, long epochNanos, int promptTokens) {
        tokens.add(new Event(index, tokenId, finish));
    }

    @Override
    public void onError(ErrorCode code, String message) {
        if (errorCode != null) {
            throw new AssertionError("a second error after " + errorCode + ": " + code + " " + message);
        }
        errorCode = code;
        errorMessage = message;
    }

    /** The token ids delivered, checking that indices run 0, 1, 2, ... with no gap or duplicate. */
    List<Integer> tokenIds() {
        final List<Integer> ids = new ArrayList<>();
        for (Event e : tokens) {
            if (e.index() != ids.size()) {
                throw new AssertionError("index " + e.index() + " delivered after " + ids.size() + " tokens: " + tokens);
            }
            ids.add(e.tokenId());
        }
        return ids;
    }
}
