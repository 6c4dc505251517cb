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
 * <p>Entries are single text lines written and read by {@link JournalRecord} (the load generator replays them with it
 * too); a journal holding a line that is not an entry fails to open, naming the line. Router-thread only (Chronicle
 * appenders are bound to their thread).
 */
final class RequestJournal implements AutoCloseable {
    /** An accepted request the journal has no completion for. */
    record Unfinished(long routerId, long clientId, long clientRequestId) { }

    private final ChronicleQueue queue;
    private final ExcerptAppender appender;
    private final Map<Long, Unfinished> unfinished = new LinkedHashMap<>();
    private final StringBuilder entryText = new StringBuilder(256);
    private long highestRouterId;

    RequestJournal(Path dir) {
        this.queue = ChronicleQueue.singleBuilder(dir).build();
        try {
            final ExcerptTailer tailer = queue.createTailer();
            for (String line = tailer.readText(); line != null; line = tailer.readText()) {
                final JournalRecord entry = JournalRecord.parse(line);
                highestRouterId = Math.max(highestRouterId, entry.routerId());
                if (entry instanceof JournalRecord.Accepted a) {
                    unfinished.put(a.routerId(), new Unfinished(a.routerId(), a.clientId(), a.clientRequestId()));
                } else {
                    unfinished.remove(entry.routerId());
                }
            }
        } catch (IllegalArgumentException e) {
            queue.close();
            throw new IllegalArgumentException("the journal at " + dir + " cannot be read: " + e.getMessage(), e);
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
        entryText.setLength(0);
        JournalRecord.appendAccepted(entryText, r.routerId, r.clientId, r.clientRequestId, v.maxNewTokens(),
                v.temperature(), v.topP(), v.topK(), v.seed(), v.promptTokens());
        appender.writeText(entryText);
    }

    void completed(long routerId, String outcome) {
        unfinished.remove(routerId);
        entryText.setLength(0);
        appender.writeText(new JournalRecord.Completed(routerId, outcome).appendTo(entryText));
    }

    @Override
    public void close() {
        appender.close();
        queue.close();
    }
}
