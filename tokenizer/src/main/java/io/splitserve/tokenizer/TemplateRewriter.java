package io.splitserve.tokenizer;

/**
 * Rewrites the two pieces of Python Jinja syntax that chat templates use and Jinjava parses differently, before
 * the template is compiled: slices ({@code messages[::-1]}, {@code text[1:]}) become a {@code py_slice} filter
 * call, and keyword-argument values are parenthesised ({@code namespace(n=messages|length - 1)} otherwise binds
 * as {@code (n=messages|length) - 1}); and every printed expression goes through a {@code py_print} function that
 * prints values as Python does. Only tags are touched, never literal text or string literals.
 */
final class TemplateRewriter {
    static final String SLICE_FILTER = "py_slice";
    static final String PRINT_FUNCTION = "py_print";

    private TemplateRewriter() {
    }

    static String rewrite(String template) {
        StringBuilder out = new StringBuilder(template.length() + 64);
        int i = 0;
        while (i < template.length()) {
            int open = nextTag(template, i);
            if (open < 0) {
                out.append(template, i, template.length());
                break;
            }
            out.append(template, i, open + 2);
            int close = tagEnd(template, open + 2, template.charAt(open + 1) == '{' ? "}}" : "%}");
            if (close < 0) {
                out.append(template, open + 2, template.length());
                break;
            }
            String code = rewriteSlices(parenthesiseKeywordValues(template.substring(open + 2, close)));
            out.append(template.charAt(open + 1) == '{' ? printed(code) : code);
            i = close;
        }
        return out.toString();
    }

    /** {@code - expr -} becomes {@code - py_print(expr) -}, keeping the whitespace-control marks outside. */
    private static String printed(String code) {
        int start = 0;
        int end = code.length();
        if (start < end && (code.charAt(start) == '-' || code.charAt(start) == '+')) {
            start++;
        }
        if (end > start && code.charAt(end - 1) == '-') {
            end--;
        }
        if (code.substring(start, end).isBlank()) {
            return code;
        }
        return code.substring(0, start) + " " + PRINT_FUNCTION + "(" + code.substring(start, end) + ") "
                + code.substring(end);
    }

    /** Start of the next {@code {{} or {@code {%} at or after {@code from}, or -1. */
    private static int nextTag(String s, int from) {
        for (int i = from; i + 1 < s.length(); i++) {
            if (s.charAt(i) == '{' && (s.charAt(i + 1) == '{' || s.charAt(i + 1) == '%')) {
                return i;
            }
            if (s.charAt(i) == '{' && s.charAt(i + 1) == '#') {
                int end = s.indexOf("#}", i + 2);
                if (end < 0) {
                    return -1;
                }
                i = end + 1;
            }
        }
        return -1;
    }

    /** Index of the closing delimiter of a tag, skipping string literals, or -1. */
    private static int tagEnd(String s, int from, String delimiter) {
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(s, i);
            } else if (s.startsWith(delimiter, i)) {
                return i;
            }
        }
        return -1;
    }

    /** Index of the quote that closes the string literal opening at {@code start}. */
    private static int stringEnd(String s, int start) {
        char quote = s.charAt(start);
        for (int i = start + 1; i < s.length(); i++) {
            if (s.charAt(i) == '\\') {
                i++;
            } else if (s.charAt(i) == quote) {
                return i;
            }
        }
        return s.length() - 1;
    }

    /** {@code f(a=x - 1, b=y)} becomes {@code f(a=(x - 1), b=(y))}. */
    private static String parenthesiseKeywordValues(String code) {
        StringBuilder out = new StringBuilder(code.length() + 16);
        int i = 0;
        while (i < code.length()) {
            char c = code.charAt(i);
            if (c == '\'' || c == '"') {
                int end = stringEnd(code, i);
                out.append(code, i, end + 1);
                i = end + 1;
                continue;
            }
            out.append(c);
            i++;
            if (c == '(' || c == ',') {
                int name = skipSpaces(code, i);
                int nameEnd = name;
                while (nameEnd < code.length() && (Character.isLetterOrDigit(code.charAt(nameEnd)) || code.charAt(nameEnd) == '_')) {
                    nameEnd++;
                }
                int equals = skipSpaces(code, nameEnd);
                boolean isName = nameEnd > name && (Character.isLetter(code.charAt(name)) || code.charAt(name) == '_');
                boolean isAssignment = equals < code.length() && code.charAt(equals) == '='
                        && (equals + 1 >= code.length() || code.charAt(equals + 1) != '=');
                if (isName && isAssignment) {
                    int valueEnd = expressionEnd(code, equals + 1);
                    out.append(code, i, equals + 1).append('(')
                            .append(parenthesiseKeywordValues(code.substring(equals + 1, valueEnd))).append(')');
                    i = valueEnd;
                }
            }
        }
        return out.toString();
    }

    private static int skipSpaces(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    /** End of an argument expression: the first ',' or closing bracket at nesting depth 0. */
    private static int expressionEnd(String s, int from) {
        int depth = 0;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(s, i);
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) {
                    return i;
                }
                depth--;
            } else if (c == ',' && depth == 0) {
                return i;
            }
        }
        return s.length();
    }

    /** {@code base[a:b:c]} becomes {@code (base|py_slice(a, b, c))}, empty bounds becoming {@code none}. */
    private static String rewriteSlices(String code) {
        String current = code;
        int from = 0;
        while (true) {
            int open = nextSubscript(current, from);
            if (open < 0) {
                return current;
            }
            int close = expressionEnd(current, open + 1);
            String inside = current.substring(open + 1, Math.min(close, current.length()));
            String[] bounds = splitTopLevelColons(inside);
            if (close >= current.length() || current.charAt(close) != ']' || bounds.length < 2 || bounds.length > 3) {
                from = open + 1;
                continue;
            }
            int baseStart = baseStart(current, open);
            StringBuilder call = new StringBuilder("(").append(current, baseStart, open).append('|')
                    .append(SLICE_FILTER).append('(');
            for (int k = 0; k < 3; k++) {
                String bound = k < bounds.length ? bounds[k].trim() : "";
                call.append(k > 0 ? ", " : "").append(bound.isEmpty() ? "none" : rewriteSlices(bound));
            }
            call.append("))");
            current = current.substring(0, baseStart) + call + current.substring(close + 1);
            from = baseStart;
        }
    }

    /** Next '[' that subscripts a value (follows a name, ']' or ')'), outside string literals, or -1. */
    private static int nextSubscript(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(s, i);
            } else if (c == '[' && i > 0) {
                char before = s.charAt(i - 1);
                if (Character.isLetterOrDigit(before) || before == '_' || before == ']' || before == ')') {
                    return i;
                }
            }
        }
        return -1;
    }

    private static String[] splitTopLevelColons(String s) {
        java.util.List<String> parts = new java.util.ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(s, i);
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == ':' && depth == 0) {
                parts.add(s.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(s.substring(start));
        return parts.toArray(new String[0]);
    }

    /** Start of the primary expression ending just before {@code open}: names, dots, calls and subscripts. */
    private static int baseStart(String s, int open) {
        int i = open - 1;
        while (i >= 0) {
            char c = s.charAt(i);
            if (Character.isLetterOrDigit(c) || c == '_' || c == '.') {
                i--;
            } else if (c == ']' || c == ')') {
                int depth = 0;
                for (; i >= 0; i--) {
                    char d = s.charAt(i);
                    if (d == ']' || d == ')') {
                        depth++;
                    } else if (d == '[' || d == '(') {
                        if (--depth == 0) {
                            break;
                        }
                    }
                }
                i--;
            } else {
                break;
            }
        }
        return i + 1;
    }
}
