package io.splitserve.perf.kv;

import io.splitserve.engine.Backend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.BiConsumer;

/**
 * Parsing of the KV benchmarks' option values, written once for all their command lines: whole numbers (positive or
 * not negative), comma-separated prompt lengths without repeats, a backend that names what it measures, and the
 * {@code MODEL_DIR OUT.csv [--option value]...} command line shape. Every failure is an
 * {@link IllegalArgumentException} whose message is one line naming the option and the value it got.
 */
final class OptionValues {
    /** The two positional arguments of a {@code MODEL_DIR OUT.csv [--option value]...} command line. */
    record ModelAndCsv(Path modelDir, Path csv) {
    }

    private OptionValues() {
    }

    /**
     * Walks {@code MODEL_DIR OUT.csv} and {@code --option value} pairs in any order, handing each pair to
     * {@code onOption} (which rejects an unknown option); returns the two paths once the model directory exists.
     */
    static ModelAndCsv modelAndCsv(String[] args, BiConsumer<String, String> onOption) {
        final Path[] positional = new Path[2];
        int count = 0;
        for (int i = 0; i < args.length; i++) {
            final String arg = args[i];
            if (!arg.startsWith("--")) {
                if (count >= positional.length) {
                    throw new IllegalArgumentException("unexpected argument '" + arg + "'");
                }
                positional[count++] = Path.of(arg);
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(arg + " needs a value");
            }
            onOption.accept(arg, args[++i]);
        }
        if (count < positional.length) {
            throw new IllegalArgumentException("MODEL_DIR and OUT.csv are required");
        }
        if (!Files.isDirectory(positional[0])) {
            throw new IllegalArgumentException("model directory not found: " + positional[0]);
        }
        return new ModelAndCsv(positional[0], positional[1]);
    }

    /** cpu or cuda: {@link Backend#AUTO} is refused, since a benchmark names what it measures. */
    static Backend backend(String value) {
        final Backend backend = Backend.parse(value);
        if (backend == Backend.AUTO) {
            throw new IllegalArgumentException("--backend must be cpu or cuda: a benchmark names what it measures");
        }
        return backend;
    }

    /** Comma-separated positive prompt lengths, each at most once, in the order given. */
    static int[] lengths(String option, String value) {
        final String[] parts = value.split(",");
        final int[] lengths = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            lengths[i] = positive(option, parts[i].trim());
        }
        if (Arrays.stream(lengths).distinct().count() != lengths.length) {
            throw new IllegalArgumentException(option + " lists a length twice: " + value);
        }
        return lengths;
    }

    static int positive(String option, String value) {
        final int n = integer(option, value);
        if (n <= 0) {
            throw new IllegalArgumentException(option + " must be positive, got " + value);
        }
        return n;
    }

    static int nonNegative(String option, String value) {
        final int n = integer(option, value);
        if (n < 0) {
            throw new IllegalArgumentException(option + " must be 0 or more, got " + value);
        }
        return n;
    }

    /** A positive whole number, with one message for a malformed and a non-positive value alike. */
    static int positiveWholeNumber(String option, String value) {
        final int n;
        try {
            n = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw notPositiveWholeNumber(option, value);
        }
        if (n <= 0) {
            throw notPositiveWholeNumber(option, value);
        }
        return n;
    }

    private static IllegalArgumentException notPositiveWholeNumber(String option, String value) {
        return new IllegalArgumentException(option + " needs a positive whole number, got '" + value + "'");
    }

    private static int integer(String option, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " takes whole numbers, got '" + value + "'");
        }
    }
}
