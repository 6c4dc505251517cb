package io.splitserve.tokenizer;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Gives template expressions the Python methods chat templates call on strings and dicts
 * ({@code content.startswith('<think>')}, {@code text.split('</think>')[-1].lstrip('\n')}, {@code d.items()}),
 * and negative list indices. Jinjava would otherwise call Java methods of the same object (or none), which have
 * other names and meanings ({@code String.split} takes a regex). Anything else falls through to Jinjava.
 */
final class PythonMethodResolver extends ELResolver {
    /** Returned by the method tables for names they do not know, so the call falls through to Jinjava. */
    private static final Object NOT_HANDLED = new Object();

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (method == null) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        Object result;
        if (base instanceof String s) {
            result = stringMethod(s, method.toString(), args);
        } else if (base instanceof Map<?, ?> map) {
            result = mapMethod(map, method.toString(), args);
        } else {
            return null;
        }
        if (result != NOT_HANDLED) {
            context.setPropertyResolved(true);
            return result;
        }
        return null;
    }

    private static Object stringMethod(String s, String method, Object[] args) {
        switch (method) {
            case "startswith":
                return matchesAny(args, prefix -> s.startsWith(prefix));
            case "endswith":
                return matchesAny(args, suffix -> s.endsWith(suffix));
            case "strip":
                return PythonStrings.strip(s, stringArg(args, 0), true, true);
            case "lstrip":
                return PythonStrings.strip(s, stringArg(args, 0), true, false);
            case "rstrip":
                return PythonStrings.strip(s, stringArg(args, 0), false, true);
            case "split":
                return PythonStrings.split(s, stringArg(args, 0), args.length > 1 ? ((Number) args[1]).intValue() : -1);
            case "upper":
                return s.toUpperCase(Locale.ROOT);
            case "lower":
                return s.toLowerCase(Locale.ROOT);
            case "replace":
                return args.length > 2 ? replace(s, String.valueOf(args[0]), String.valueOf(args[1]),
                        ((Number) args[2]).intValue()) : s.replace(String.valueOf(args[0]), String.valueOf(args[1]));
            case "find":
                return s.indexOf(String.valueOf(args[0])) < 0 ? -1
                        : s.codePointCount(0, s.indexOf(String.valueOf(args[0])));
            case "join": {
                StringBuilder out = new StringBuilder();
                boolean first = true;
                for (Object item : (Iterable<?>) args[0]) {
                    if (!first) {
                        out.append(s);
                    }
                    first = false;
                    out.append(item);
                }
                return out.toString();
            }
            default:
                return NOT_HANDLED;
        }
    }

    private static Object mapMethod(Map<?, ?> map, String method, Object[] args) {
        switch (method) {
            case "items": {
                List<List<Object>> items = new ArrayList<>();
                map.forEach((k, v) -> items.add(java.util.Arrays.asList(k, v)));
                return items;
            }
            case "keys":
                return new ArrayList<>(map.keySet());
            case "values":
                return new ArrayList<>(map.values());
            case "get":
                return map.containsKey(args[0]) ? map.get(args[0]) : (args.length > 1 ? args[1] : null);
            default:
                return NOT_HANDLED;
        }
    }

    private static boolean matchesAny(Object[] args, java.util.function.Predicate<String> test) {
        if (args.length > 0 && args[0] instanceof Iterable<?> options) {
            for (Object option : options) {
                if (test.test(String.valueOf(option))) {
                    return true;
                }
            }
            return false;
        }
        return test.test(String.valueOf(args[0]));
    }

    private static String stringArg(Object[] args, int index) {
        return args.length > index && args[index] != null ? String.valueOf(args[index]) : null;
    }

    private static String replace(String s, String old, String replacement, int count) {
        StringBuilder out = new StringBuilder();
        int start = 0;
        int found;
        int done = 0;
        while ((count < 0 || done < count) && (found = s.indexOf(old, start)) >= 0) {
            out.append(s, start, found).append(replacement);
            start = found + old.length();
            done++;
        }
        return out.append(s.substring(start)).toString();
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        if (base instanceof List<?> list && property instanceof Number index && index.longValue() < 0
                && index.longValue() >= -list.size()) {
            context.setPropertyResolved(true);
            return list.get(list.size() + index.intValue());
        }
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // read-only: assignments are left to Jinjava's own resolvers
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return Object.class;
    }
}
