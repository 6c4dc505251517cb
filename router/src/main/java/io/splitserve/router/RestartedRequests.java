package io.splitserve.router;

import io.splitserve.sbe.ErrorCode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Requests an earlier run of the router accepted (its journal says) and never completed, continued rather than
 * dropped. When an Aeron client says hello again, each of its requests is re-admitted through
 * {@link RequestScheduler#readmit} under its old router id: the tokens the journal holds as delivered are sent again
 * with their indices (the client drops those it had), then it runs on from prompt + those tokens, with the remaining
 * max tokens and the same seed, the sampler's counter at their number, so the client's stream equals an uninterrupted
 * run. Each re-admission is journaled, so the number of times a request was recovered survives restarts.
 *
 * <p>A request fails instead with one ROUTER_RESTARTED error naming why, journaled as completed: when its journal
 * entries are damaged, when it was already recovered {@code maxRecoveries} times, or when its continuation cannot be
 * admitted (a setting or token the served model cannot take). Requests from HTTP (client id 0) are closed at once:
 * their connections died with the router and nobody can receive a continuation. Router-thread only.
 */
final class RestartedRequests {
    static final String OUTCOME = "failed router-restarted";

    /** The listener a recovered request of an Aeron client delivers to. */
    @FunctionalInterface
    interface ClientListeners {
        ResponseListener listener(long clientId, long clientRequestId);
    }

    private final RequestJournal journal;
    private final RouterMetrics metrics;
    private final ServedModel model;
    private final int maxRecoveries;
    private final Consumer<String> log;
    private final Map<Long, List<RequestJournal.Unfinished>> byClient = new HashMap<>();
    /** Client keys of the requests failed at their client's hello: a send again of one is answered already. */
    private final Set<String> reported = new HashSet<>();

    RestartedRequests(RequestJournal journal, RouterMetrics metrics, ServedModel model, int maxRecoveries,
                      Consumer<String> log) {
        this.journal = journal;
        this.metrics = metrics;
        this.model = model;
        this.maxRecoveries = maxRecoveries;
        this.log = log;
        for (RequestJournal.Unfinished u : journal.unfinished()) {
            if (u.clientId() == 0) {
                journal.completed(u.routerId(), OUTCOME);
            } else {
                byClient.computeIfAbsent(u.clientId(), c -> new ArrayList<>()).add(u);
            }
        }
    }

    /**
     * A client (re)connected: re-admits its unfinished requests on {@code scheduler}, delivering to the listeners
     * {@code listeners} gives, or fails each one that cannot continue; returns how many requests it had.
     */
    int onClientHello(long clientId, RequestScheduler scheduler, ClientListeners listeners) {
        final List<RequestJournal.Unfinished> orphans = byClient.remove(clientId);
        if (orphans == null) {
            return 0;
        }
        for (RequestJournal.Unfinished u : orphans) {
            final ResponseListener listener = listeners.listener(clientId, u.clientRequestId());
            final String refusal = refusal(u);
            if (refusal != null) {
                final String message = "the router restarted before request " + u.clientRequestId() + " completed"
                        + " and cannot continue it: " + refusal;
                metrics.rejected(ErrorCode.ROUTER_RESTARTED);
                log.accept("router: request " + u.routerId() + " failed " + ErrorCode.ROUTER_RESTARTED + ": "
                        + message);
                listener.onError(ErrorCode.ROUTER_RESTARTED, message);
                journal.completed(u.routerId(), OUTCOME);
                reported.add(clientId + "/" + u.clientRequestId());
                continue;
            }
            final JournalRecord.Accepted a = u.accepted();
            journal.recovered(u.routerId());
            scheduler.readmit(u.routerId(), clientId, u.clientRequestId(), new ValidatedRequest(a.promptTokens(),
                    a.maxNewTokens(), a.temperature(), a.topP(), a.topK(), a.seed(), a.stopStrings(),
                    a.stopTokenIds()), u.delivered(), listener);
        }
        return orphans.size();
    }

    /** Why the request cannot be continued, or null when it can. */
    private String refusal(RequestJournal.Unfinished u) {
        if (u.damage() != null) {
            return "its journal entry is damaged: " + u.damage();
        }
        if (u.recoveries() >= maxRecoveries) {
            return "it was already continued after " + u.recoveries() + " restart(s), the limit (--max-recoveries "
                    + maxRecoveries + ")";
        }
        final JournalRecord.Accepted a = u.accepted();
        if (a.maxNewTokens() < 1 || u.delivered().length > a.maxNewTokens()) {
            return "its journal holds " + u.delivered().length + " delivered tokens for max_tokens "
                    + a.maxNewTokens();
        }
        if (a.promptTokens().length + a.maxNewTokens() > model.contextLength()) {
            return "prompt " + a.promptTokens().length + " + max_tokens " + a.maxNewTokens() + " exceeds the model's"
                    + " context of " + model.contextLength() + " tokens";
        }
        if (!(a.temperature() >= 0) || !(a.topP() > 0 && a.topP() <= 1)) {
            return "temperature " + a.temperature() + " or top-p " + a.topP() + " is out of range";
        }
        // token ids past the model's vocabulary are the node's to refuse (FAILED_INCOMPATIBLE), as for any request
        final String prompt = negative(a.promptTokens(), "prompt");
        return prompt != null ? prompt : negative(u.delivered(), "delivered");
    }

    private static String negative(int[] tokens, String what) {
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0) {
                return what + " token " + i + " is " + tokens[i] + ", not a token id";
            }
        }
        return null;
    }

    /** Whether this router failed the client's request at its hello (the client was told ROUTER_RESTARTED). */
    boolean reported(long clientId, long clientRequestId) {
        return reported.contains(clientId + "/" + clientRequestId);
    }

    /** Clients that have not said hello again yet. */
    int clientsWaiting() {
        return byClient.size();
    }
}
