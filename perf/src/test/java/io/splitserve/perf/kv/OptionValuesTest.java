package io.splitserve.perf.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.splitserve.engine.Backend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * The option values every KV benchmark parses: accepted values come back as numbers, lengths and paths in the order
 * given, and each malformed one fails with the one-line message the benchmarks print.
 */
class OptionValuesTest {
    @TempDir
    Path tmp;

    @Test
    void wholeNumbersAreCheckedForTheirSign() {
        assertEquals(3, OptionValues.positive("--reps", "3"));
        assertEquals(0, OptionValues.nonNegative("--gpu", "0"));
        assertEquals(7, OptionValues.positiveWholeNumber("--big-repeats", "7"));
        assertFails("--reps must be positive, got 0", () -> OptionValues.positive("--reps", "0"));
        assertFails("--gpu must be 0 or more, got -1", () -> OptionValues.nonNegative("--gpu", "-1"));
        assertFails("--reps takes whole numbers, got '2.5'", () -> OptionValues.positive("--reps", "2.5"));
        assertFails("--big-repeats needs a positive whole number, got '0'",
                () -> OptionValues.positiveWholeNumber("--big-repeats", "0"));
        assertFails("--big-repeats needs a positive whole number, got 'x'",
                () -> OptionValues.positiveWholeNumber("--big-repeats", "x"));
    }

    @Test
    void lengthsKeepTheirOrderAndMayNotRepeat() {
        assertArrayEquals(new int[] {600, 128, 8192}, OptionValues.lengths("--lengths", "600, 128,8192"));
        assertFails("--lengths lists a length twice: 16,40,16", () -> OptionValues.lengths("--lengths", "16,40,16"));
        assertFails("--lengths must be positive, got 0", () -> OptionValues.lengths("--lengths", "16,0"));
    }

    @Test
    void aBenchmarkBackendIsNamed() {
        assertEquals(Backend.CUDA, OptionValues.backend("cuda"));
        assertFails("--backend must be cpu or cuda: a benchmark names what it measures",
                () -> OptionValues.backend("auto"));
    }

    @Test
    void modelAndCsvTakeThePositionalArgumentsAndHandOnTheOptions() {
        final List<String> seen = new ArrayList<>();
        final OptionValues.ModelAndCsv files = OptionValues.modelAndCsv(new String[] {"--reps", "2", tmp.toString(),
            "out.csv", "--lengths", "16"}, (option, value) -> seen.add(option + "=" + value));
        assertEquals(tmp, files.modelDir());
        assertEquals(Path.of("out.csv"), files.csv());
        assertEquals(List.of("--reps=2", "--lengths=16"), seen);
        assertFails("MODEL_DIR and OUT.csv are required",
                () -> OptionValues.modelAndCsv(new String[] {tmp.toString()}, (option, value) -> { }));
        assertFails("unexpected argument 'more'", () -> OptionValues.modelAndCsv(
                new String[] {tmp.toString(), "out.csv", "more"}, (option, value) -> { }));
        assertFails("--reps needs a value", () -> OptionValues.modelAndCsv(
                new String[] {tmp.toString(), "out.csv", "--reps"}, (option, value) -> { }));
        final Path missing = tmp.resolve("missing");
        assertFails("model directory not found: " + missing, () -> OptionValues.modelAndCsv(
                new String[] {missing.toString(), "out.csv"}, (option, value) -> { }));
    }

    private static void assertFails(String message, Executable parse) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, parse).getMessage());
    }
}
