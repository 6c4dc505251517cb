package io.splitserve.launcher.soak;

import io.splitserve.client.SplitServeException;
import io.splitserve.client.Token;
import io.splitserve.client.TokenListener;
import io.splitserve.perf.load.RequestSpec;
import io.splitserve.sbe.FinishReason;
import java.util.ArrayList;
import java.util.List;
import org.agrona.collections.IntArrayList;

/**
 * What one soak request received, as its client saw it: the token ids in index order, tokens that came again at an
 * index already filled (duplicated) or skipped an index (missing), and every ending it got: {@code COMPLETED} (STOP
 * or LENGTH), {@code FINISHED_<reason>} for another final reason, or the error code. Events come from the client's
 * receiving thread (or, for a router restart's reports, the new client's), hence the synchronisation.
 */
final class SoakRequest implements TokenListener {
    static final String COMPLETED = "COMPLETED";

    final int index;
    final RequestSpec spec;
    final long intendedNs;
    volatile long requestId;
    private final IntArrayList tokens = new IntArrayList();
    private final List<String> endings = new ArrayList<>();
    private int duplicated;
    private int missing;
    private long firstTokenNs;
    private long lastTokenNs;

    SoakRequest(int index, RequestSpec spec, long intendedNs) {
        this.index = index;
        this.spec = spec;
        this.intendedNs = intendedNs;
    }

    @Override
    public synchronized void onToken(Token token) {
        final long now = System.nanoTime();
        if (token.tokenId() >= 0) {
            if (token.index() < tokens.size()) {
                duplicated++;
            } else {
                missing += token.index() - tokens.size();
                tokens.addInt(token.tokenId());
                if (firstTokenNs == 0) {
                    firstTokenNs = now;
                }
                lastTokenNs = now;
            }
        }
        if (token.finish() == FinishReason.STOP || token.finish() == FinishReason.LENGTH) {
            endings.add(COMPLETED);
        } else if (token.isLast()) {
            endings.add("FINISHED_" + token.finish().name());
        }
    }

    @Override
    public synchronized void onError(SplitServeException error) {
        endings.add(error.code().name());
    }

    synchronized boolean ended() {
        return !endings.isEmpty();
    }

    synchronized boolean hasEvent() {
        return !endings.isEmpty() || !tokens.isEmpty();
    }

    synchronized int[] tokens() {
        return tokens.toIntArray();
    }

    synchronized List<String> endings() {
        return List.copyOf(endings);
    }

    synchronized int duplicated() {
        return duplicated;
    }

    synchronized int missing() {
        return missing;
    }

    /** Time to first token from the intended send, or -1 with no token. */
    synchronized long ttftNs() {
        return firstTokenNs == 0 ? -1 : firstTokenNs - intendedNs;
    }

    /** Mean time per output token after the first, or 0 with fewer than two tokens. */
    synchronized long tpotNs() {
        return tokens.size() < 2 ? 0 : (lastTokenNs - firstTokenNs) / (tokens.size() - 1);
    }
}
