package io.splitserve.router;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.agrona.collections.IntArrayList;

/**
 * One entry of the router's request journal, and the only code that writes or reads the journal's text format, so
 * the router that writes it ({@link RequestJournal}) and the load generator that replays it cannot drift apart.
 *
 * <p>An entry is one text line:
 * <ul>
 *   <li>{@code A <routerId> <clientId> <clientRequestId> <maxNew> <temperature> <topP> <topK> <seed>
 *       <token,token,...> <stopToken,...> <stopString,...>}: an accepted request with everything needed to run it
 *       again (stop strings as Base64 of their UTF-8, so any text fits; either stop list may be empty);</li>
 *   <li>{@code D <routerId> <firstIndex> <token,token,...>}: tokens delivered to the client, the first of them with
 *       request index {@code firstIndex};</li>
 *   <li>{@code R <routerId>}: a restarted router re-admitted the request as a continuation;</li>
 *   <li>{@code C <routerId> <outcome>}: its completion (the outcome is free text to the end of the line).</li>
 * </ul>
 * {@link #parse} accepts exactly what {@link #appendTo} writes and rejects anything else with a
 * {@link IllegalArgumentException} naming the line and what is wrong with it; {@link #routerIdOf} reads the router id
 * of a line that is otherwise damaged, so the damage can be pinned on one request.
 */
public sealed interface JournalRecord
        permits JournalRecord.Accepted, JournalRecord.Delivered, JournalRecord.Recovered, JournalRecord.Completed {
    /** The router-wide id the entry is about. */
    long routerId();

    /** Appends this entry's line (without a line end) to {@code out} and returns {@code out}. */
    StringBuilder appendTo(StringBuilder out);

    /** A request the router accepted, with everything needed to run it again. */
    record Accepted(long routerId, long clientId, long clientRequestId, int maxNewTokens, float temperature, float topP,
                    int topK, long seed, int[] promptTokens, int[] stopTokenIds, List<String> stopStrings)
            implements JournalRecord {
        public Accepted {
            if (promptTokens.length == 0) {
                throw new IllegalArgumentException("an accepted request has at least one prompt token");
            }
            for (String stop : stopStrings) {
                if (stop.isEmpty()) {
                    throw new IllegalArgumentException("a stop string is never empty");
                }
            }
            stopStrings = List.copyOf(stopStrings);
        }

        @Override
        public StringBuilder appendTo(StringBuilder out) {
            return appendAccepted(out, routerId, clientId, clientRequestId, maxNewTokens, temperature, topP, topK, seed,
                    promptTokens, stopTokenIds, stopStrings);
        }
    }

    /** Tokens delivered to the client, from request index {@code firstIndex} on. */
    record Delivered(long routerId, int firstIndex, int[] tokens) implements JournalRecord {
        public Delivered {
            if (firstIndex < 0 || tokens.length == 0) {
                throw new IllegalArgumentException("a delivery has a first index >= 0 and at least one token, got "
                        + firstIndex + " and " + tokens.length + " tokens");
            }
        }

        @Override
        public StringBuilder appendTo(StringBuilder out) {
            out.append("D ").append(routerId).append(' ').append(firstIndex).append(' ');
            return appendTokens(out, tokens);
        }
    }

    /** A restarted router re-admitted the request: one such entry per recovery, so their number bounds retries. */
    record Recovered(long routerId) implements JournalRecord {
        @Override
        public StringBuilder appendTo(StringBuilder out) {
            return out.append("R ").append(routerId);
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
                                        int[] promptTokens, int[] stopTokenIds, List<String> stopStrings) {
        out.append("A ").append(routerId).append(' ').append(clientId).append(' ').append(clientRequestId)
                .append(' ').append(maxNewTokens).append(' ').append(temperature).append(' ').append(topP)
                .append(' ').append(topK).append(' ').append(seed).append(' ');
        appendTokens(out, promptTokens).append(' ');
        appendTokens(out, stopTokenIds).append(' ');
        for (int i = 0; i < stopStrings.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            out.append(Base64.getEncoder().encodeToString(stopStrings.get(i).getBytes(StandardCharsets.UTF_8)));
        }
        return out;
    }

    /**
     * Writes a delivery entry of {@code tokens[from, to)} (request indices) without allocating, for the router's
     * per-cycle flush.
     */
    static StringBuilder appendDelivered(StringBuilder out, long routerId, IntArrayList tokens, int from, int to) {
        out.append("D ").append(routerId).append(' ').append(from).append(' ');
        for (int i = from; i < to; i++) {
            if (i > from) {
                out.append(',');
            }
            out.append(tokens.getInt(i));
        }
        return out;
    }

    private static StringBuilder appendTokens(StringBuilder out, int[] tokens) {
        for (int i = 0; i < tokens.length; i++) {
            if (i > 0) {
                out.append(',');
            }
            out.append(tokens[i]);
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
        if (line.startsWith("R ")) {
            return new Recovered(parseLong(line, line.substring(2), "router id"));
        }
        if (line.startsWith("D ")) {
            final String[] f = line.split(" ", -1);
            if (f.length != 4) {
                throw malformed(line, "a delivery has 4 space-separated fields, this one has " + f.length);
            }
            final int[] tokens = parseTokens(line, f[3], "delivered token");
            if (tokens.length == 0) {
                throw malformed(line, "a delivery holds at least one token");
            }
            final int first = parseInt(line, f[2], "first index");
            if (first < 0) {
                throw malformed(line, "first index " + first + " is negative");
            }
            return new Delivered(parseLong(line, f[1], "router id"), first, tokens);
        }
        if (line.startsWith("A ")) {
            final String[] f = line.split(" ", -1);
            if (f.length != 12) {
                throw malformed(line, "an accepted entry has 12 space-separated fields, this one has " + f.length);
            }
            final int[] prompt = parseTokens(line, f[9], "prompt token");
            if (prompt.length == 0) {
                throw malformed(line, "an accepted request has at least one prompt token");
            }
            final List<String> stops = new ArrayList<>();
            if (!f[11].isEmpty()) {
                for (String encoded : f[11].split(",", -1)) {
                    try {
                        stops.add(new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8));
                    } catch (IllegalArgumentException e) {
                        throw malformed(line, "stop string '" + encoded + "' is not Base64");
                    }
                    if (stops.get(stops.size() - 1).isEmpty()) {
                        throw malformed(line, "a stop string is never empty");
                    }
                }
            }
            return new Accepted(parseLong(line, f[1], "router id"), parseLong(line, f[2], "client id"),
                    parseLong(line, f[3], "client request id"), parseInt(line, f[4], "max new tokens"),
                    parseFloat(line, f[5], "temperature"), parseFloat(line, f[6], "top-p"),
                    parseInt(line, f[7], "top-k"), parseLong(line, f[8], "seed"), prompt,
                    parseTokens(line, f[10], "stop token"), stops);
        }
        throw malformed(line, "an entry starts with 'A ' (accepted), 'D ' (delivered), 'R ' (recovered) or 'C '"
                + " (completed)");
    }

    /**
     * The router id of a line that starts like an entry (its tag, a space, an integer), whatever follows; -1 when the
     * line does not even say which request it is about.
     */
    static long routerIdOf(String line) {
        if (line.length() < 3 || "ADRC".indexOf(line.charAt(0)) < 0 || line.charAt(1) != ' ') {
            return -1;
        }
        final int end = line.indexOf(' ', 2);
        try {
            final long id = Long.parseLong(end < 0 ? line.substring(2) : line.substring(2, end));
            return id > 0 ? id : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The client id and client request id of a damaged accepted line, when they are readable; else null. */
    static long[] clientIdsOf(String line) {
        final String[] f = line.split(" ", 5);
        if (f.length < 4 || !f[0].equals("A")) {
            return null;
        }
        try {
            return new long[] {Long.parseLong(f[2]), Long.parseLong(f[3])};
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static int[] parseTokens(String line, String field, String what) {
        if (field.isEmpty()) {
            return new int[0];
        }
        final String[] ids = field.split(",", -1);
        final int[] tokens = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            tokens[i] = parseInt(line, ids[i], what + " " + i);
        }
        return tokens;
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
