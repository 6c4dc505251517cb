package io.splitserve.perf.kv;

import io.splitserve.model.ModelLoadException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import jcuda.CudaException;

/**
 * The frame of a KV benchmark that measures into a CSV file ({@code bench kv-stream}, {@code bench kv-path}): a
 * malformed command line gets one line naming what is wrong, then the usage, and exit status 2; a measurement that
 * fails gets one line and 1; a finished one has its rows written under the header (the file's folders made) and
 * says where, with 0. Every line on standard error starts with the command's name.
 */
final class BenchmarkCommand {
    /** A measurement's CSV rows, one line each without its line break. */
    @FunctionalInterface
    interface Measurement {
        List<String> csvRows() throws IOException, ModelLoadException;
    }

    private BenchmarkCommand() {
    }

    /** The parsed options, or null after reporting the bad command line on {@code err} (the caller exits with 2). */
    static <O> O parse(String command, String usage, Function<String[], O> parser, String[] args, PrintStream err) {
        try {
            return parser.apply(args);
        } catch (IllegalArgumentException e) {
            err.println(command + ": " + e.getMessage());
            err.println(usage);
            return null;
        }
    }

    /** Runs {@code measurement} and writes its rows to {@code csv}; returns the exit status, 0 or 1. */
    static int measureToCsv(String command, Path csv, String header, Measurement measurement, PrintStream out,
                            PrintStream err) {
        try {
            writeCsv(csv, header, measurement.csvRows());
            out.println("wrote " + csv);
            return 0;
        } catch (IllegalArgumentException | IllegalStateException | UncheckedIOException | CudaException
                 | ModelLoadException | IOException e) {
            err.println(command + ": " + e.getMessage());
            return 1;
        }
    }

    /** The line that says what the measurement ran on. */
    static void printMachine(PrintStream out) {
        out.println("machine: " + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ", "
                + Runtime.getRuntime().availableProcessors() + " cores, Java " + System.getProperty("java.version"));
    }

    private static void writeCsv(Path csv, String header, List<String> rows) throws IOException {
        final StringBuilder text = new StringBuilder(header).append('\n');
        for (String row : rows) {
            text.append(row).append('\n');
        }
        final Path parent = csv.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(csv, text);
    }
}
