package io.splitserve.tokenizer;

/**
 * UTF-8 decoding that replaces each maximal invalid subpart with one U+FFFD, exactly as Rust's
 * {@code String::from_utf8_lossy} (and so Hugging Face decode) does, and that can stop before an incomplete
 * character at the end so a stream decoder can wait for its remaining bytes.
 */
final class Utf8Lossy {
    static final char REPLACEMENT = '\uFFFD';

    private Utf8Lossy() {
    }

    static String decode(byte[] bytes, int length) {
        StringBuilder out = new StringBuilder(length);
        decode(bytes, length, true, out);
        return out.toString();
    }

    /**
     * Decodes {@code bytes[0, length)} into {@code out}. When {@code atEnd} is false, a trailing sequence that is a
     * valid but incomplete character is left undecoded; its start index is returned (else {@code length}).
     */
    static int decode(byte[] bytes, int length, boolean atEnd, StringBuilder out) {
        int i = 0;
        while (i < length) {
            int b0 = bytes[i] & 0xFF;
            if (b0 < 0x80) {
                out.append((char) b0);
                i++;
                continue;
            }
            int width;
            int lo = 0x80;
            int hi = 0xBF;
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                width = 2;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                width = 3;
                if (b0 == 0xE0) {
                    lo = 0xA0;
                } else if (b0 == 0xED) {
                    hi = 0x9F;
                }
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                width = 4;
                if (b0 == 0xF0) {
                    lo = 0x90;
                } else if (b0 == 0xF4) {
                    hi = 0x8F;
                }
            } else {
                out.append(REPLACEMENT);
                i++;
                continue;
            }
            int valid = 1;
            while (valid < width && i + valid < length) {
                int b = bytes[i + valid] & 0xFF;
                boolean ok = valid == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
                if (!ok) {
                    break;
                }
                valid++;
            }
            if (valid == width) {
                int cp = b0 & (0xFF >> (width + 1));
                for (int k = 1; k < width; k++) {
                    cp = (cp << 6) | (bytes[i + k] & 0x3F);
                }
                out.appendCodePoint(cp);
                i += width;
            } else if (i + valid == length && !atEnd) {
                return i;
            } else {
                out.append(REPLACEMENT);
                i += valid;
            }
        }
        return length;
    }
}
