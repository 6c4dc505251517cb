package io.splitserve.router;

/**
 * One entry of the router's request journal, and the only code that writes or reads the journal's text format, so
 * the router that writes it ({@link RequestJournal}) and the load generator that replays it cannot drift apart.
 *
 * <p>An entry is one text line: {@code A <routerId> <clientId> <clientRequestId> <maxNew> <temperature> <topP>
 * <topK> <seed> <token,token,...>} for an accepted request, {@code C <routerId> <outcome>} for its completion (the
 * outcome is free text to the end of the line). {@link #parse} accepts exactly what {@link #appendTo} writes and
 * rejects anything else with a {@link IllegalArgumentException} naming the line and what is wrong with it.
 */
public sealed interface JournalRecord permits JournalRecord.Accepted, JournalRecord.Completed {
    /** The router-wide id the entry is about. */
    long routerId();

    /** Appends this entry's line (without a line end) to {@code out} and returns {@code out}. */
    StringBuilder appendTo(StringBuilder out);

    /** A request the router accepted, with everything needed to run it again. */
    record Accepted(long routerId, long clientId, long clientRequestId, int maxNewTokens, float temperature, float topP,
                    int topK, long seed, int[] promptTokens) implements JournalRecord {
        public Accepted {
            if (promptTokens.length == 0) {
                throw new IllegalArgumentException("an accepted request has at least one prompt token");
            }
        }

        @Override
        public StringBuilder appendTo(StringBuilder out) {
            return appendAccepted(out, routerId, clientId, clientRequestId, maxNewTokens, temperature, topP, topK, seed,
                    promptTokens);
        }
    }

    /** The end of a request: its outcome, e.g. {@code completed stop} or {@code failed router-restarted}. */
    record Completed(long routerId, String outcome) implements JournalRecord {
        public Completed {
            if (outcome.isEmpty() || outcome.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("a completion outcome is one non-empty line, got '" + outcome + "'");
            }
        }

        @Override
        public StringBuilder appendTo(StringBuilder out) {
            return out.append("C ").append(routerId).append(' ').append(outcome);
        }
    }

    /** Writes an accepted entry's line from its fields, for a writer that reuses one builder per entry. */
    static StringBuilder appendAccepted(StringBuilder out, long routerId, long clientId, long clientRequestId,
                                        int maxNewTokens, float temperature, float topP, int topK, long seed,
                                        int[] promptTokens) {
        out.append("A ").append(routerId).append(' ').append(clientId).append(' ').append(clientRequestId)
                .append(' ').append(maxNewTokens).append(' ').append(temperature).append(' ').append(topP)
                .append(' ').append(topK).append(' ').append(seed).append(' ');
        for (int i = 0; i < promptTokens.length; i++) {
            if (i > 0) {
                out.append(',');
            }
            out.append(promptTokens[i]);
        }
        return out;
    }

    /** The entry one journal line holds; a line that is not exactly an entry is an error saying why. */
    static JournalRecord parse(String line) {
        if (line.startsWith("C ")) {
            final int space = line.indexOf(' ', 2);
            if (space < 0 || space == line.length() - 1) {
                throw malformed(line, "a completion is 'C <routerId> <outcome>'");
            }
            return new Completed(parseLong(line, line.substring(2, space), "router id"), line.substring(space + 1));
        }
        if (line.startsWith("A ")) {
            final String[] f = line.split(" ", -1);
            if (f.length != 10) {
                throw malformed(line, "an accepted entry has 10 space-separated fields, this one has " + f.length);
            }
            final String[] ids = f[9].split(",", -1);
            final int[] tokens = new int[ids.length];
            for (int i = 0; i < ids.length; i++) {
                tokens[i] = parseInt(line, ids[i], "prompt token " + i);
            }
            return new Accepted(parseLong(line, f[1], "router id"), parseLong(line, f[2], "client id"),
                    parseLong(line, f[3], "client request id"), parseInt(line, f[4], "max new tokens"),
                    parseFloat(line, f[5], "temperature"), parseFloat(line, f[6], "top-p"),
                    parseInt(line, f[7], "top-k"), parseLong(line, f[8], "seed"), tokens);
        }
        throw malformed(line, "an entry starts with 'A ' (accepted) or 'C ' (completed)");
    }

    private static long parseLong(String line, String field, String what) {
        try {
            return Long.parseLong(field);
        } catch (NumberFormatException e) {
            throw malformed(line, what + " '" + field + "' is not an integer");
        }
    }

    private static int parseInt(String line, String field, String what) {
        try {
            return Integer.parseInt(field);
        } catch (NumberFormatException e) {
            throw malformed(line, what + " '" + field + "' is not a 32-bit integer");
        }
    }

    private static float parseFloat(String line, String field, String what) {
        try {
            return Float.parseFloat(field);
        } catch (NumberFormatException e) {
            throw malformed(line, what + " '" + field + "' is not a number");
        }
    }

    private static IllegalArgumentException malformed(String line, String why) {
        return new IllegalArgumentException("malformed journal entry '" + line + "': " + why);
    }
}
