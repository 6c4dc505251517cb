package io.splitserve.perf.load;

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
 * <p>Journal entries are text lines {@code A <routerId> <clientId> <clientRequestId> <maxNew> <temperature> <topP>
 * <topK> <seed> <token,token,...>}; other lines are skipped.
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

    /** The request of one journal line, or null for a line that is not an accepted request. */
    static RequestSpec parse(String line, Tokenizer tokenizer) {
        final String[] f = line.split(" ");
        if (f.length != 10 || !f[0].equals("A") || f[9].isEmpty()) {
            return null;
        }
        final String[] ids = f[9].split(",");
        final int[] tokens = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            tokens[i] = Integer.parseInt(ids[i]);
        }
        final String text = tokenizer.decode(tokens, true);
        final int maxNew = Integer.parseInt(f[4]);
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
