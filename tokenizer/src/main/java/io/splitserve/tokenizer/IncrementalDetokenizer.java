package io.splitserve.tokenizer;

import java.util.Arrays;

/**
 * Turns a stream of token ids into text as they arrive, for streaming responses. A token may end in the middle of
 * a UTF-8 character (byte-level BPE splits emoji and CJK characters across tokens); those bytes are held until
 * the character is complete, so no pushed text ever contains half a character. The concatenation of every
 * {@link #push} and the final {@link #flush} equals {@link Tokenizer#decode} of all the ids. Not thread-safe: one
 * instance per sequence.
 */
public final class IncrementalDetokenizer {
    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private final StringBuilder text = new StringBuilder();
    /** Bytes of an incomplete trailing character (at most 3) followed by the newest token's bytes. */
    private byte[] pending = new byte[16];
    private int pendingLength;

    public IncrementalDetokenizer(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /** Adds one token; returns the text that became final with it ("" if none yet). */
    public String push(int tokenId) {
        byte[] bytes = tokenizer.bytesOf(tokenId, skipSpecialTokens);
        if (bytes.length == 0) {
            return "";
        }
        if (pendingLength + bytes.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + bytes.length));
        }
        System.arraycopy(bytes, 0, pending, pendingLength, bytes.length);
        pendingLength += bytes.length;
        text.setLength(0);
        int decoded = Utf8Lossy.decode(pending, pendingLength, false, text);
        System.arraycopy(pending, decoded, pending, 0, pendingLength - decoded);
        pendingLength -= decoded;
        return text.toString();
    }

    /** Ends the stream: returns whatever is left, an incomplete character becoming U+FFFD as in decode. */
    public String flush() {
        String rest = Utf8Lossy.decode(pending, pendingLength);
        pendingLength = 0;
        return rest;
    }
}
