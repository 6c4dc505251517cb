package io.splitserve.router;

import io.splitserve.sbe.ErrorCode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Requests an earlier run of the router accepted (its journal says) and never completed: they were not run to the
 * end, and their clients must be told rather than left waiting. An Aeron client hears ROUTER_RESTARTED for each of
 * its requests when it says hello again; requests from HTTP (client id 0) are closed at once, since their
 * connections are gone. Each is journaled as completed exactly once. Router-thread only.
 */
final class RestartedRequests {
    static final String OUTCOME = "failed router-restarted";

    private final RequestJournal journal;
    private final RouterMetrics metrics;
    private final Map<Long, List<RequestJournal.Unfinished>> byClient = new HashMap<>();

    RestartedRequests(RequestJournal journal, RouterMetrics metrics) {
        this.journal = journal;
        this.metrics = metrics;
        for (RequestJournal.Unfinished u : journal.unfinished()) {
            if (u.clientId() == 0) {
                journal.completed(u.routerId(), OUTCOME);
            } else {
                byClient.computeIfAbsent(u.clientId(), c -> new ArrayList<>()).add(u);
            }
        }
    }

    /** A client (re)connected: reports its unfinished requests, if any, on {@code egress}; returns how many. */
    int onClientHello(long clientId, ClientEgress egress) {
        final List<RequestJournal.Unfinished> orphans = byClient.remove(clientId);
        if (orphans == null) {
            return 0;
        }
        for (RequestJournal.Unfinished u : orphans) {
            metrics.rejected(ErrorCode.ROUTER_RESTARTED);
            if (!egress.error(clientId, u.clientRequestId(), ErrorCode.ROUTER_RESTARTED, "the router restarted before"
                    + " request " + u.clientRequestId() + " completed; it was not run to the end, submit it again")) {
                metrics.egressDropped++;
            }
            journal.completed(u.routerId(), OUTCOME);
        }
        return orphans.size();
    }

    /** Clients that have not said hello again yet. */
    int clientsWaiting() {
        return byClient.size();
    }
}
