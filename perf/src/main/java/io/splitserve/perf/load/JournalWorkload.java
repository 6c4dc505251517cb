package io.splitserve.perf.load;

import io.splitserve.router.JournalRecord;
import io.splitserve.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptTailer;

/**
 * Replays the requests recorded in a router's journal (its Chronicle Queue directory): every "accepted" entry
 * gives a prompt (its token ids decoded back to text with the served model's tokenizer) and its max new tokens, in
 * journal order, cycling when the run wants more requests than were recorded. Arrival times come from the load
 * pattern, since the journal records what was asked, not when.
 *
 * <p>Entries are read with the router's own {@link JournalRecord}; completions are skipped, and a line that is not an
 * entry is an error naming it (a replay of a damaged journal would measure something else).
 */
public final class JournalWorkload implements Workload {
    private final Path dir;
    private final List<RequestSpec> requests;
    private int next;

    public JournalWorkload(Path dir, Tokenizer tokenizer) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("no journal directory at " + dir);
        }
        this.dir = dir;
        this.requests = new ArrayList<>();
        try (ChronicleQueue queue = ChronicleQueue.singleBuilder(dir).readOnly(true).build()) {
            final ExcerptTailer tailer = queue.createTailer();
            for (String line = tailer.readText(); line != null; line = tailer.readText()) {
                final RequestSpec spec = parse(line, tokenizer);
                if (spec != null) {
                    requests.add(spec);
                }
            }
        }
        if (requests.isEmpty()) {
            throw new IllegalArgumentException("the journal at " + dir + " holds no accepted requests");
        }
    }

    /**
     * The request of one journal line, or null for a completion or an accepted request that cannot be replayed (its
     * prompt decodes to no text, or it asked for no tokens); a malformed line is an {@link IllegalArgumentException}.
     */
    static RequestSpec parse(String line, Tokenizer tokenizer) {
        if (!(JournalRecord.parse(line) instanceof JournalRecord.Accepted accepted)) {
            return null;
        }
        final int[] tokens = accepted.promptTokens();
        final String text = tokenizer.decode(tokens, true);
        final int maxNew = accepted.maxNewTokens();
        return text.isEmpty() || maxNew <= 0 ? null : new RequestSpec(text, tokens.length, maxNew);
    }

    public int recorded() {
        return requests.size();
    }

    @Override
    public synchronized RequestSpec next() {
        final RequestSpec spec = requests.get(next);
        next = (next + 1) % requests.size();
        return spec;
    }

    @Override
    public String describe() {
        return "replay of " + requests.size() + " journaled requests from " + dir.getFileName();
    }
}
