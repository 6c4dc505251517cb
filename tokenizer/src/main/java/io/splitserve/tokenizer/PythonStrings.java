package io.splitserve.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Python {@code str} semantics that chat templates rely on (they are written for Python's Jinja): whitespace as
 * {@code str.isspace} defines it, {@code strip}/{@code split} with and without arguments, and lengths in code
 * points rather than UTF-16 units.
 */
final class PythonStrings {
    private PythonStrings() {
    }

    /** Python's {@code str.isspace} for one code point: Unicode White_Space plus the separators U+001C..U+001F. */
    static boolean isSpace(int c) {
        return (c >= 0x1C && c <= 0x1F) || (c <= 0xFFFF && AddedVocabulary.isWhiteSpace((char) c));
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        if (left) {
            while (start < end && stripped(s.codePointAt(start), chars)) {
                start += Character.charCount(s.codePointAt(start));
            }
        }
        if (right) {
            while (end > start && stripped(s.codePointBefore(end), chars)) {
                end -= Character.charCount(s.codePointBefore(end));
            }
        }
        return s.substring(start, end);
    }

    private static boolean stripped(int c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(new String(Character.toChars(c))) >= 0;
    }

    /** {@code str.split(sep, maxsplit)}; a null separator splits on whitespace runs and drops empty parts. */
    static List<String> split(String s, String separator, int maxSplit) {
        List<String> parts = new ArrayList<>();
        if (separator == null) {
            int i = 0;
            while (i < s.length()) {
                while (i < s.length() && isSpace(s.codePointAt(i))) {
                    i += Character.charCount(s.codePointAt(i));
                }
                if (i >= s.length()) {
                    break;
                }
                if (maxSplit >= 0 && parts.size() == maxSplit) {
                    parts.add(strip(s.substring(i), null, false, true));
                    return parts;
                }
                int start = i;
                while (i < s.length() && !isSpace(s.codePointAt(i))) {
                    i += Character.charCount(s.codePointAt(i));
                }
                parts.add(s.substring(start, i));
            }
            return parts;
        }
        if (separator.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        int start = 0;
        int found;
        while ((maxSplit < 0 || parts.size() < maxSplit) && (found = s.indexOf(separator, start)) >= 0) {
            parts.add(s.substring(start, found));
            start = found + separator.length();
        }
        parts.add(s.substring(start));
        return parts;
    }

    static int length(String s) {
        return s.codePointCount(0, s.length());
    }
}
