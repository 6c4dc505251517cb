package io.splitserve.tokenizer;

import java.util.Map;

/**
 * Python's {@code json.dumps(value, ensure_ascii=False, indent=indent)} as transformers' {@code tojson} filter
 * calls it: {@code ", "} and {@code ": "} separators (or newlines and indentation), non-ASCII kept as is, keys in
 * insertion order. Templates embed tool schemas and arguments with it, so its spacing must match exactly.
 */
final class PythonJson {
    private PythonJson() {
    }

    /** {@code indent} below 0 means Python's None (one line). */
    static String dumps(Object value, int indent) {
        StringBuilder out = new StringBuilder();
        write(value, indent, 0, out);
        return out.toString();
    }

    private static void write(Object value, int indent, int depth, StringBuilder out) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof Boolean) {
            out.append((Boolean) value ? "true" : "false");
        } else if (value instanceof Double || value instanceof Float) {
            writeFloat(((Number) value).doubleValue(), out);
        } else if (value instanceof Number) {
            out.append(value);
        } else if (value instanceof Map<?, ?> map) {
            if (map.isEmpty()) {
                out.append("{}");
                return;
            }
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                separator(first, indent, depth + 1, out);
                first = false;
                writeString(String.valueOf(entry.getKey()), out);
                out.append(": ");
                write(entry.getValue(), indent, depth + 1, out);
            }
            close(indent, depth, out);
            out.append('}');
        } else if (value instanceof Iterable<?> items) {
            if (!items.iterator().hasNext()) {
                out.append("[]");
                return;
            }
            out.append('[');
            boolean first = true;
            for (Object item : items) {
                separator(first, indent, depth + 1, out);
                first = false;
                write(item, indent, depth + 1, out);
            }
            close(indent, depth, out);
            out.append(']');
        } else {
            writeString(value.toString(), out);
        }
    }

    private static void separator(boolean first, int indent, int depth, StringBuilder out) {
        if (indent >= 0) {
            if (!first) {
                out.append(',');
            }
            out.append('\n').append(" ".repeat(indent * depth));
        } else if (!first) {
            out.append(", ");
        }
    }

    private static void close(int indent, int depth, StringBuilder out) {
        if (indent >= 0) {
            out.append('\n').append(" ".repeat(indent * depth));
        }
    }

    /** Python's float repr for the common cases: integral values keep ".0", others use the shortest form. */
    private static void writeFloat(double d, StringBuilder out) {
        if (Double.isNaN(d)) {
            out.append("NaN");
        } else if (Double.isInfinite(d)) {
            out.append(d > 0 ? "Infinity" : "-Infinity");
        } else if (d == Math.rint(d) && Math.abs(d) < 1e16) {
            out.append((long) d).append(".0");
        } else {
            out.append(d);
        }
    }

    private static void writeString(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                case '\b': out.append("\\b"); break;
                case '\f': out.append("\\f"); break;
                default:
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        out.append('"');
    }
}
