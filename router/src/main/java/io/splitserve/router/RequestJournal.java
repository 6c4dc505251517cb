package io.splitserve.router;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import org.agrona.collections.IntArrayList;

/**
 * The router's write-ahead record of requests in a Chronicle Queue: one "accepted" entry per request before it is
 * scheduled (router id, client id, client request id, prompt token ids, sampling settings with the seed, max tokens,
 * stop tokens and stop strings), "delivered" entries with the tokens as they go to the client, a "recovered" entry
 * each time a restarted router re-admits it, and one "completed" entry with its outcome. Metadata only, never KV.
 * After a restart {@link #unfinished()} lists what was accepted and never completed, with the tokens delivered so
 * far, so the router can continue each one where it stopped.
 *
 * <p>Delivered tokens are batched: {@link #delivered} only notes that a request has new tokens, and {@link #flush},
 * once per router duty cycle, appends one line per such request holding all its tokens since the last flush (one
 * decode step's token in the common case). Each line is an append to a memory-mapped file with no fsync and no
 * allocation, so it survives the router process dying (not the machine); a token the process died before flushing
 * was still sent, and is sent again by the continuation, which the client drops by its index.
 *
 * <p>Entries are single text lines written and read by {@link JournalRecord} (the load generator replays them with it
 * too). A damaged line that names its request (its router id is readable) marks that request damaged, and so does a
 * delivery that does not follow the tokens before it: such a request is reported with its damage, never run. A line
 * that does not even say which request it is about fails the journal's opening, naming the line. Router-thread only
 * (Chronicle appenders are bound to their thread).
 */
final class RequestJournal implements AutoCloseable {
    /**
     * An accepted request the journal has no completion for: its acceptance (null when damaged), the tokens delivered
     * so far, how many times a restarted router re-admitted it, and what is wrong with its entries (null when sound).
     */
    record Unfinished(long routerId, long clientId, long clientRequestId, JournalRecord.Accepted accepted,
                      int[] delivered, int recoveries, String damage) { }

    /** What the journal says of one request while it is read. */
    private static final class Replay {
        final long routerId;
        final long clientId;
        final long clientRequestId;
        final JournalRecord.Accepted accepted;
        final IntArrayList delivered = new IntArrayList();
        int recoveries;
        String damage;

        Replay(long routerId, long clientId, long clientRequestId, JournalRecord.Accepted accepted) {
            this.routerId = routerId;
            this.clientId = clientId;
            this.clientRequestId = clientRequestId;
            this.accepted = accepted;
        }

        void damaged(String why) {
            if (damage == null) {
                damage = why;
            }
        }
    }

    private final ChronicleQueue queue;
    private final ExcerptAppender appender;
    private final Map<Long, Replay> unfinished = new LinkedHashMap<>();
    private final StringBuilder entryText = new StringBuilder(256);
    private final ArrayList<RouterRequest> unflushed = new ArrayList<>();
    private long highestRouterId;

    RequestJournal(Path dir) {
        this.queue = ChronicleQueue.singleBuilder(dir).build();
        try {
            final ExcerptTailer tailer = queue.createTailer();
            for (String line = tailer.readText(); line != null; line = tailer.readText()) {
                read(line);
            }
        } catch (IllegalArgumentException e) {
            queue.close();
            throw new IllegalArgumentException("the journal at " + dir + " cannot be read: " + e.getMessage(), e);
        }
        this.appender = queue.createAppender();
    }

    private void read(String line) {
        final JournalRecord entry;
        try {
            entry = JournalRecord.parse(line);
        } catch (IllegalArgumentException e) {
            readDamaged(line, e);
            return;
        }
        highestRouterId = Math.max(highestRouterId, entry.routerId());
        if (entry instanceof JournalRecord.Accepted a) {
            unfinished.put(a.routerId(), new Replay(a.routerId(), a.clientId(), a.clientRequestId(), a));
            return;
        }
        if (entry instanceof JournalRecord.Completed) {
            unfinished.remove(entry.routerId());
            return;
        }
        final Replay replay = unfinished.get(entry.routerId());
        if (replay == null) {
            return; // about a request that completed (or was never accepted): nothing left to run
        }
        if (entry instanceof JournalRecord.Recovered) {
            replay.recoveries++;
        } else if (entry instanceof JournalRecord.Delivered d) {
            if (d.firstIndex() != replay.delivered.size()) {
                replay.damaged("its journal holds tokens from index " + d.firstIndex() + " after only "
                        + replay.delivered.size() + " delivered tokens");
                return;
            }
            for (int token : d.tokens()) {
                replay.delivered.addInt(token);
            }
        }
    }

    private void readDamaged(String line, IllegalArgumentException e) {
        final long routerId = JournalRecord.routerIdOf(line);
        if (routerId < 0) {
            throw e; // no request to pin it on
        }
        highestRouterId = Math.max(highestRouterId, routerId);
        if (line.startsWith("A ")) {
            final long[] ids = JournalRecord.clientIdsOf(line);
            if (ids == null) {
                throw e; // nobody could be told
            }
            final Replay replay = new Replay(routerId, ids[0], ids[1], null);
            replay.damaged(e.getMessage());
            unfinished.put(routerId, replay);
            return;
        }
        final Replay replay = unfinished.get(routerId);
        if (replay != null) {
            replay.damaged(e.getMessage());
        }
    }

    /** Requests accepted by an earlier run and never completed, oldest first. */
    List<Unfinished> unfinished() {
        final List<Unfinished> out = new ArrayList<>(unfinished.size());
        for (Replay r : unfinished.values()) {
            out.add(new Unfinished(r.routerId, r.clientId, r.clientRequestId, r.accepted, r.delivered.toIntArray(),
                    r.recoveries, r.damage));
        }
        return out;
    }

    /** The largest router id ever journaled, so a restarted router never reuses one. */
    long highestRouterId() {
        return highestRouterId;
    }

    void accepted(RouterRequest r) {
        final ValidatedRequest v = r.request;
        entryText.setLength(0);
        JournalRecord.appendAccepted(entryText, r.routerId, r.clientId, r.clientRequestId, v.maxNewTokens(),
                v.temperature(), v.topP(), v.topK(), v.seed(), v.promptTokens(), v.stopTokenIds(), v.stopStrings());
        appender.writeText(entryText);
    }

    /** The request delivered a token: it is journaled at the next {@link #flush}, with the request's others. */
    void delivered(RouterRequest r) {
        if (r.delivered.size() == r.journaledTokens + 1) {
            unflushed.add(r);
        }
    }

    /**
     * Appends one delivery entry per request that delivered tokens since the last flush (none for a request that has
     * ended since: its completion is journaled); returns how many entries were written.
     */
    int flush() {
        int written = 0;
        for (int i = 0; i < unflushed.size(); i++) {
            final RouterRequest r = unflushed.get(i);
            final int delivered = r.delivered.size();
            if (r.phase != RouterRequest.Phase.DONE && delivered > r.journaledTokens) {
                entryText.setLength(0);
                appender.writeText(JournalRecord.appendDelivered(entryText, r.routerId, r.delivered,
                        r.journaledTokens, delivered));
                written++;
            }
            r.journaledTokens = delivered;
        }
        unflushed.clear();
        return written;
    }

    /** A restarted router re-admits the request as a continuation. */
    void recovered(long routerId) {
        entryText.setLength(0);
        appender.writeText(new JournalRecord.Recovered(routerId).appendTo(entryText));
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
