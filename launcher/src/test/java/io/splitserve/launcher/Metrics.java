package io.splitserve.launcher;

import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A /metrics page read strictly as Prometheus text format (version 0.0.4): every sample line is
 * {@code name[{label="value",...}] value}, names and labels follow Prometheus' grammar, a series appears once, and
 * {@code # TYPE} comes before its samples. Values are read as numbers, so a check for 2 never matches 20 the way a
 * substring check does; any line it cannot read is an error quoting it.
 */
final class Metrics {
    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? (\\S+)(?: -?[0-9]+)?");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\\\n]|\\\\[\\\\\"n])*)\"");
    private static final Pattern TYPE = Pattern.compile(
            "# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram|untyped)");

    /** Series key (name and sorted labels) to value. */
    private final Map<String, Double> samples;
    private final Map<String, String> types;

    private Metrics(Map<String, Double> samples, Map<String, String> types) {
        this.samples = samples;
        this.types = types;
    }

    static Metrics parse(String text) {
        final Map<String, Double> samples = new LinkedHashMap<>();
        final Map<String, String> types = new HashMap<>();
        int lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("#")) {
                final Matcher type = TYPE.matcher(line);
                if (type.matches() && types.put(type.group(1), type.group(2)) != null) {
                    throw bad(lineNo, line, "a second TYPE for " + type.group(1));
                }
                if (!type.matches() && line.startsWith("# TYPE")) {
                    throw bad(lineNo, line, "not a TYPE line");
                }
                continue;
            }
            final Matcher m = SAMPLE.matcher(line);
            if (!m.matches()) {
                throw bad(lineNo, line, "not a sample line");
            }
            final Map<String, String> labels = new TreeMap<>();
            if (m.group(2) != null && !m.group(2).isEmpty()) {
                for (String pair : m.group(2).split(",(?=[a-zA-Z_][a-zA-Z0-9_]*=\")", -1)) {
                    final Matcher l = LABEL.matcher(pair);
                    if (!l.matches() || labels.put(l.group(1), l.group(2)) != null) {
                        throw bad(lineNo, line, "label '" + pair + "' is not name=\"value\" or repeats a name");
                    }
                }
            }
            final double value;
            try {
                value = parseValue(m.group(3));
            } catch (NumberFormatException e) {
                throw bad(lineNo, line, "value '" + m.group(3) + "' is not a number");
            }
            if (samples.put(key(m.group(1), labels), value) != null) {
                throw bad(lineNo, line, "the series appears twice");
            }
        }
        return new Metrics(Collections.unmodifiableMap(samples), types);
    }

    private static double parseValue(String s) {
        switch (s) {
            case "+Inf":
                return Double.POSITIVE_INFINITY;
            case "-Inf":
                return Double.NEGATIVE_INFINITY;
            case "NaN":
                return Double.NaN;
            default:
                if (!s.matches("[-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?")) {
                    throw new NumberFormatException(s);
                }
                return Double.parseDouble(s);
        }
    }

    private static String key(String name, Map<String, String> labels) {
        return name + labels;
    }

    private static IllegalArgumentException bad(int lineNo, String line, String why) {
        return new IllegalArgumentException("metrics line " + lineNo + " '" + line + "': " + why);
    }

    /** The value of the series {@code name} with exactly these labels (pairs of name, value), if it is there. */
    OptionalDouble find(String name, String... labelPairs) {
        if (labelPairs.length % 2 != 0) {
            throw new IllegalArgumentException("labels come in name, value pairs");
        }
        final Map<String, String> labels = new TreeMap<>();
        for (int i = 0; i < labelPairs.length; i += 2) {
            labels.put(labelPairs[i], labelPairs[i + 1]);
        }
        final Double v = samples.get(key(name, labels));
        return v == null ? OptionalDouble.empty() : OptionalDouble.of(v);
    }

    /** The value of a series that must be there; its absence is an error listing what is. */
    double value(String name, String... labelPairs) {
        return find(name, labelPairs).orElseThrow(() -> new AssertionError("no series " + name + " "
                + String.join(",", labelPairs) + " in /metrics; it has " + samples.keySet()));
    }

    /** The value of a series holding a count, which must be a whole number. */
    long count(String name, String... labelPairs) {
        final double v = value(name, labelPairs);
        if (v != Math.rint(v) || v < 0) {
            throw new AssertionError(name + " is " + v + ", not a count");
        }
        return (long) v;
    }

    /** The declared type of a metric family, or null when the page declares none. */
    String type(String family) {
        return types.get(family);
    }
}
