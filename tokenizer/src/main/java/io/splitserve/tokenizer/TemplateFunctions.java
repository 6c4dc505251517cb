package io.splitserve.tokenizer;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;

import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The globals, filters and tags transformers adds to (or changes in) Jinja when it renders chat templates:
 * {@code raise_exception}, {@code strftime_now}, {@code tojson} with Python's json.dumps spacing, the
 * {@code generation} block (which marks assistant text for training masks and renders its body unchanged), and
 * Python's meanings of {@code length} (code points) and {@code trim} (Unicode whitespace).
 */
final class TemplateFunctions {
    private TemplateFunctions() {
    }

    /** Thrown by a template's {@code raise_exception(message)}; its message is the template's. */
    static final class TemplateRaisedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TemplateRaisedException(String message) {
            super(message);
        }
    }

    public static Object raiseException(Object message) {
        throw new TemplateRaisedException(String.valueOf(message));
    }

    /** Applied to every {@code {{ }}} output: Python prints booleans as {@code True} and {@code False}. */
    public static Object pyPrint(Object value) {
        if (value instanceof Boolean b) {
            return b ? "True" : "False";
        }
        return value;
    }

    /** Python's {@code datetime.now().strftime(format)} for the directives chat templates use. */
    public static String strftimeNow(String format) {
        return strftime(LocalDateTime.now(), format);
    }

    static String strftime(LocalDateTime time, String format) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char directive = format.charAt(++i);
            switch (directive) {
                case 'd': out.append(String.format("%02d", time.getDayOfMonth())); break;
                case 'm': out.append(String.format("%02d", time.getMonthValue())); break;
                case 'Y': out.append(time.getYear()); break;
                case 'y': out.append(String.format("%02d", time.getYear() % 100)); break;
                case 'b': out.append(time.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH)); break;
                case 'B': out.append(time.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH)); break;
                case 'a': out.append(time.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH)); break;
                case 'A': out.append(time.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH)); break;
                case 'H': out.append(String.format("%02d", time.getHour())); break;
                case 'I': out.append(String.format("%02d", (time.getHour() + 11) % 12 + 1)); break;
                case 'M': out.append(String.format("%02d", time.getMinute())); break;
                case 'S': out.append(String.format("%02d", time.getSecond())); break;
                case 'p': out.append(time.getHour() < 12 ? "AM" : "PM"); break;
                case 'j': out.append(String.format("%03d", time.getDayOfYear())); break;
                case '%': out.append('%'); break;
                default: out.append('%').append(directive);
            }
        }
        return out.toString();
    }

    /** {@code {% generation %}...{% endgeneration %}}: renders its body as is. */
    static final class GenerationTag implements Tag {
        private static final long serialVersionUID = 1L;

        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String getEndTagName() {
            return "endgeneration";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder body = new StringBuilder();
            for (Node child : tagNode.getChildren()) {
                body.append(child.render(interpreter).getValue());
            }
            return body.toString();
        }
    }

    /** {@code value | tojson} and {@code value | tojson(indent=2)}. */
    static final class ToJsonFilter implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return PythonJson.dumps(var, args.length > 0 && args[0] != null ? Integer.parseInt(args[0]) : -1);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : (args.length > 0 ? args[0] : null);
            return PythonJson.dumps(var, indent == null ? -1 : ((Number) indent).intValue());
        }
    }

    /** {@code value | py_slice(start, stop, step)}: Python's {@code value[start:stop:step]} on lists and strings. */
    static final class SliceFilter implements Filter {
        @Override
        public String getName() {
            return TemplateRewriter.SLICE_FILTER;
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            if (var == null) {
                return null;
            }
            boolean isString = var instanceof String;
            List<Object> items = new ArrayList<>();
            if (isString) {
                ((String) var).codePoints().forEach(items::add);
            } else if (var instanceof Iterable<?> iterable) {
                iterable.forEach(items::add);
            } else {
                throw new IllegalArgumentException("cannot slice a " + var.getClass().getSimpleName());
            }
            int n = items.size();
            int step = bound(args, 2) == null ? 1 : bound(args, 2);
            if (step == 0) {
                throw new IllegalArgumentException("slice step cannot be zero");
            }
            Integer startArg = bound(args, 0);
            Integer stopArg = bound(args, 1);
            int start = startArg == null ? (step > 0 ? 0 : n - 1) : clamp(startArg, n, step);
            int stop = stopArg == null ? (step > 0 ? n : -1) : clamp(stopArg, n, step);
            StringBuilder text = new StringBuilder();
            List<Object> slice = new ArrayList<>();
            for (int i = start; step > 0 ? i < stop : i > stop; i += step) {
                if (isString) {
                    text.appendCodePoint((Integer) items.get(i));
                } else {
                    slice.add(items.get(i));
                }
            }
            return isString ? text.toString() : slice;
        }

        private static Integer bound(Object[] args, int index) {
            return args.length > index && args[index] != null ? ((Number) args[index]).intValue() : null;
        }

        /** Python's index normalisation for slice bounds. */
        private static int clamp(int index, int n, int step) {
            int i = index < 0 ? index + n : index;
            if (step > 0) {
                return Math.max(0, Math.min(i, n));
            }
            return Math.max(-1, Math.min(i, n - 1));
        }
    }

    /** {@code value | length}: code points for strings, as Python's len. */
    static final class LengthFilter implements Filter {
        @Override
        public String getName() {
            return "length";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) {
                return 0;
            }
            if (var instanceof String s) {
                return PythonStrings.length(s);
            }
            if (var instanceof java.util.Collection<?> c) {
                return c.size();
            }
            if (var instanceof Map<?, ?> m) {
                return m.size();
            }
            if (var.getClass().isArray()) {
                return java.lang.reflect.Array.getLength(var);
            }
            return PythonStrings.length(String.valueOf(var));
        }
    }

    /** {@code value | trim} and {@code value | trim(chars)}: Python's str.strip. */
    static final class TrimFilter implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return PythonStrings.strip(var == null ? "" : String.valueOf(var), args.length > 0 ? args[0] : null,
                    true, true);
        }
    }
}
