package io.splitserve.perf.kv;

import java.util.Arrays;
import java.util.Locale;

/**
 * What the KV path benchmark's decode process tells the benchmark, one text line each on its standard output, every
 * line starting with {@link #PREFIX}: it is ready (its engine loaded, its KV receiver open), the rate of a
 * device-to-device copy on its GPU, a transfer it admitted (with the {@link System#nanoTime()} of the admission, which
 * on Linux reads CLOCK_MONOTONIC and so compares across processes of one host, and the greedy tokens it decoded), a
 * transfer it refused, or why it stopped. {@link #parse} is the one reader of these lines; a line that does not start
 * with the prefix is not a report (null), and a malformed report is an error naming it.
 */
sealed interface DecodeReport {
    String PREFIX = "kvpath ";

    /** The engine is loaded and the KV receiver listens. */
    record Ready(String backend) implements DecodeReport {
        @Override
        public String line() {
            return PREFIX + "ready " + backend;
        }
    }

    /** A device-to-device copy of {@code bytes} on the decode GPU moved {@code gbps} GB/s (median). */
    record Copy(long bytes, double gbps) implements DecodeReport {
        @Override
        public String line() {
            return PREFIX + "copy " + bytes + " " + String.format(Locale.ROOT, "%.4f", gbps);
        }
    }

    /** Transfer {@code requestId} was admitted at {@code admittedNs}, then decoded {@code tokens} (first included). */
    record Admitted(long requestId, long admittedNs, int[] tokens) implements DecodeReport {
        @Override
        public String line() {
            final StringBuilder line = new StringBuilder(PREFIX).append("admitted ").append(requestId).append(' ')
                    .append(admittedNs);
            for (int token : tokens) {
                line.append(' ').append(token);
            }
            return line.toString();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Admitted other && other.requestId == requestId && other.admittedNs == admittedNs
                    && Arrays.equals(other.tokens, tokens);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(requestId) * 31 + Arrays.hashCode(tokens);
        }
    }

    /** Transfer {@code requestId} ended without an admission, with this KV status. */
    record Failed(long requestId, String status) implements DecodeReport {
        @Override
        public String line() {
            return PREFIX + "failed " + requestId + " " + status;
        }
    }

    /** The decode process stops: {@code message} says why. */
    record Stopped(String message) implements DecodeReport {
        @Override
        public String line() {
            return PREFIX + "stopped " + message.replace('\n', ' ');
        }
    }

    /** This report as one line (no line break). */
    String line();

    /**
     * The report {@code line} carries, or null when it is not a report (some other output of the process).
     *
     * @throws IllegalArgumentException when it starts like a report and is not a whole one.
     */
    static DecodeReport parse(String line) {
        if (!line.startsWith(PREFIX)) {
            return null;
        }
        final String[] words = line.substring(PREFIX.length()).split(" ", -1);
        try {
            switch (words[0]) {
                case "ready":
                    return new Ready(line.substring(PREFIX.length() + "ready ".length()));
                case "copy":
                    requireWords(words, 3, line);
                    return new Copy(Long.parseLong(words[1]), Double.parseDouble(words[2]));
                case "admitted": {
                    if (words.length < 3) {
                        throw new IllegalArgumentException("malformed decode report: " + line);
                    }
                    final int[] tokens = new int[words.length - 3];
                    for (int i = 0; i < tokens.length; i++) {
                        tokens[i] = Integer.parseInt(words[3 + i]);
                    }
                    return new Admitted(Long.parseLong(words[1]), Long.parseLong(words[2]), tokens);
                }
                case "failed":
                    requireWords(words, 3, line);
                    return new Failed(Long.parseLong(words[1]), words[2]);
                case "stopped":
                    return new Stopped(line.substring(Math.min(line.length(), PREFIX.length() + "stopped ".length())));
                default:
                    throw new IllegalArgumentException("unknown decode report: " + line);
            }
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
            throw new IllegalArgumentException("malformed decode report: " + line, e);
        }
    }

    private static void requireWords(String[] words, int count, String line) {
        if (words.length != count) {
            throw new IllegalArgumentException("malformed decode report: " + line);
        }
    }
}
