package io.splitserve.router;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;

/**
 * The router's write-ahead record of requests in a Chronicle Queue: one "accepted" entry per request before it is
 * scheduled (router id, client id, client request id, prompt token ids, settings) and one "completed" entry with
 * its outcome. Metadata only, never KV. After a restart {@link #unfinished()} lists what was accepted and never
 * completed, so the router can report each one instead of dropping it silently.
 *
 * <p>Entries are single text lines: {@code A <routerId> <clientId> <clientRequestId> <maxNew> <temperature> <topP>
 * <topK> <seed> <token,token,...>} and {@code C <routerId> <outcome>}. Router-thread only (Chronicle appenders are
 * bound to their thread).
 */
final class RequestJournal implements AutoCloseable {
    /** An accepted request the journal has no completion for. */
    record Unfinished(long routerId, long clientId, long clientRequestId) { }

    private final ChronicleQueue queue;
    private final ExcerptAppender appender;
    private final Map<Long, Unfinished> unfinished = new LinkedHashMap<>();
    private long highestRouterId;

    RequestJournal(Path dir) {
        this.queue = ChronicleQueue.singleBuilder(dir).build();
        final ExcerptTailer tailer = queue.createTailer();
        for (String line = tailer.readText(); line != null; line = tailer.readText()) {
            final String[] f = line.split(" ");
            final long routerId = Long.parseLong(f[1]);
            highestRouterId = Math.max(highestRouterId, routerId);
            if (f[0].equals("A")) {
                unfinished.put(routerId, new Unfinished(routerId, Long.parseLong(f[2]), Long.parseLong(f[3])));
            } else {
                unfinished.remove(routerId);
            }
        }
        this.appender = queue.createAppender();
    }

    /** Requests accepted by an earlier run and never completed, oldest first. */
    List<Unfinished> unfinished() {
        return new ArrayList<>(unfinished.values());
    }

    /** The largest router id ever journaled, so a restarted router never reuses one. */
    long highestRouterId() {
        return highestRouterId;
    }

    void accepted(RouterRequest r) {
        final ValidatedRequest v = r.request;
        final StringBuilder line = new StringBuilder(64 + v.promptTokens().length * 6)
                .append("A ").append(r.routerId).append(' ').append(r.clientId).append(' ').append(r.clientRequestId)
                .append(' ').append(v.maxNewTokens()).append(' ').append(v.temperature()).append(' ').append(v.topP())
                .append(' ').append(v.topK()).append(' ').append(v.seed()).append(' ');
        final int[] tokens = v.promptTokens();
        for (int i = 0; i < tokens.length; i++) {
            if (i > 0) {
                line.append(',');
            }
            line.append(tokens[i]);
        }
        appender.writeText(line);
    }

    void completed(long routerId, String outcome) {
        unfinished.remove(routerId);
        appender.writeText("C " + routerId + " " + outcome);
    }

    @Override
    public void close() {
        appender.close();
        queue.close();
    }
}
