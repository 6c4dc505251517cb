package io.splitserve.tokenizer;

import java.util.List;

/**
 * Turns a stream of decoded text pieces into the text a client may see, honouring stop strings.
 *
 * <p>Guarantees: text is released only once it can no longer be the start of a stop string, so a client never
 * sees part of a stop string; when a stop string appears (possibly spread over several pieces) everything before
 * it is released and nothing after it, and the stop string itself is never released (OpenAI semantics).
 */
public final class StopStringMatcher {
    private final List<String> stopStrings;
    private final StringBuilder text = new StringBuilder();
    private int released;
    private boolean stopped;

    public StopStringMatcher(List<String> stopStrings) {
        for (String s : stopStrings) {
            if (s == null || s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
        this.stopStrings = List.copyOf(stopStrings);
    }

    /** Adds a decoded piece; returns the text that became safe to release (maybe empty). */
    public String push(String piece) {
        if (stopped) {
            return "";
        }
        text.append(piece);
        int stopAt = earliestStop();
        if (stopAt >= 0) {
            stopped = true;
            return releaseUpTo(stopAt);
        }
        return releaseUpTo(text.length() - heldBack());
    }

    /** Releases whatever was held back because it might have begun a stop string; call when generation ends. */
    public String flush() {
        return stopped ? "" : releaseUpTo(text.length());
    }

    /** True once a stop string has been seen; the generation must end. */
    public boolean stopped() {
        return stopped;
    }

    private String releaseUpTo(int end) {
        if (end <= released) {
            return "";
        }
        String out = text.substring(released, end);
        released = end;
        return out;
    }

    /** Earliest start of any stop string in the unreleased text, or -1. Released text never holds one. */
    private int earliestStop() {
        int best = -1;
        for (String s : stopStrings) {
            int from = Math.max(0, released);
            int at = text.indexOf(s, from);
            if (at >= 0 && (best < 0 || at < best)) {
                best = at;
            }
        }
        return best;
    }

    /** Length of the longest suffix of the unreleased text that is a proper prefix of some stop string. */
    private int heldBack() {
        int unreleased = text.length() - released;
        int hold = 0;
        for (String s : stopStrings) {
            int max = Math.min(s.length() - 1, unreleased);
            for (int len = max; len > hold; len--) {
                if (endsWithPrefix(s, len)) {
                    hold = len;
                    break;
                }
            }
        }
        return hold;
    }

    private boolean endsWithPrefix(String stop, int len) {
        int offset = text.length() - len;
        for (int i = 0; i < len; i++) {
            if (text.charAt(offset + i) != stop.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
