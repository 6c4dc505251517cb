package io.splitserve.router;

import io.splitserve.sbe.ErrorCode;
import io.splitserve.sbe.FinishReason;
import io.splitserve.sbe.KvPath;
import java.util.Collection;
import java.util.EnumMap;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * The router's counters and latency histograms (HdrHistogram, nanoseconds), rendered in the Prometheus text
 * format: requests by outcome, time to first token (from acceptance), time per output token, queue depth, live
 * nodes with their free KV pages and pending prompt tokens, KV transfer outcomes (in all and by the path the bytes
 * took), attempts retried by reason, and placements by what decided them with the prompt prefix tokens their prefill
 * nodes likely held.
 * Router-thread only; other threads get a rendered copy.
 */
final class RouterMetrics {
    private static final double[] QUANTILES = {0.5, 0.9, 0.99};
    private static final String[] PATH_LABELS = {"host", "gpu", "unknown"};

    final Histogram timeToFirstToken = new Histogram(3_600_000_000_000L, 3);
    final Histogram timePerOutputToken = new Histogram(3_600_000_000_000L, 3);
    final Map<FinishReason, long[]> finished = new EnumMap<>(FinishReason.class);
    final Map<ErrorCode, long[]> rejected = new EnumMap<>(ErrorCode.class);
    final long[] retries = new long[RetryReason.values().length];
    long accepted;
    /** Requests of an earlier router run re-admitted as continuations after a restart. */
    long recovered;
    long kvTransfersOk;
    long kvTransfersFailed;
    /** Transfers ended, by path (HOST, GPU, then a path this router does not know) and outcome (ok, failed). */
    final long[][] kvTransfersByPath = new long[3][2];
    long kvTransferBytes;
    long egressDropped;
    long preemptions;
    long placementsByPrefix;
    long placementsByLoad;
    long placementPrefixTokens;
    /** Hellos and client messages the router refused for want of a valid proof; null until the agent sets it. */
    PeerAuthenticator authenticator;

    void finished(FinishReason reason) {
        finished.computeIfAbsent(reason, r -> new long[1])[0]++;
    }

    void rejected(ErrorCode code) {
        rejected.computeIfAbsent(code, c -> new long[1])[0]++;
    }

    /** A KV transfer ended (a PrefillDone): {@code path} is {@link KvPath#NULL_VAL} for a path not known here. */
    void kvTransferEnded(KvPath path, boolean ok) {
        if (ok) {
            kvTransfersOk++;
        } else {
            kvTransfersFailed++;
        }
        kvTransfersByPath[pathIndex(path)][ok ? 0 : 1]++;
    }

    private static int pathIndex(KvPath path) {
        return switch (path) {
            case HOST -> 0;
            case GPU -> 1;
            case NULL_VAL -> 2;
        };
    }

    /** An attempt began: chosen for a cached prefix or by load, its prefill node likely holding that many tokens. */
    void placed(boolean byPrefix, int prefillPrefixTokens) {
        if (byPrefix) {
            placementsByPrefix++;
        } else {
            placementsByLoad++;
        }
        placementPrefixTokens += prefillPrefixTokens;
    }

    void retried(RetryReason reason) {
        retries[reason.ordinal()]++;
    }

    /** One series per live node, labelled by node and role, of a value its heartbeats report. */
    private static void nodeSeries(StringBuilder out, Collection<NodeState> nodes, String name, String type,
                                   String help, java.util.function.ToLongFunction<NodeState> value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(' ').append(type).append('\n');
        for (NodeState node : nodes) {
            if (node.alive) {
                out.append(name).append("{node=\"").append(node.nodeId).append("\",role=\"")
                        .append(node.role.name().toLowerCase()).append("\"} ").append(value.applyAsLong(node))
                        .append('\n');
            }
        }
    }

    String render(int queued, int active, Collection<NodeState> nodes) {
        final StringBuilder out = new StringBuilder(2048);
        counter(out, "splitserve_requests_accepted_total", "Requests accepted by the router", accepted);
        out.append("# HELP splitserve_requests_finished_total Requests finished, by reason\n")
                .append("# TYPE splitserve_requests_finished_total counter\n");
        finished.forEach((reason, n) -> out.append("splitserve_requests_finished_total{reason=\"")
                .append(reason.name().toLowerCase()).append("\"} ").append(n[0]).append('\n'));
        out.append("# HELP splitserve_requests_rejected_total Requests refused or failed, by error code\n")
                .append("# TYPE splitserve_requests_rejected_total counter\n");
        rejected.forEach((code, n) -> out.append("splitserve_requests_rejected_total{code=\"")
                .append(code.name().toLowerCase()).append("\"} ").append(n[0]).append('\n'));
        gauge(out, "splitserve_queue_depth", "Requests waiting for a node", queued);
        gauge(out, "splitserve_requests_active", "Requests accepted and not finished", active);
        out.append("# HELP splitserve_node_free_kv_pages Free KV pages each live node last reported\n")
                .append("# TYPE splitserve_node_free_kv_pages gauge\n");
        for (NodeState node : nodes) {
            if (node.alive) {
                out.append("splitserve_node_free_kv_pages{node=\"").append(node.nodeId).append("\",role=\"")
                        .append(node.role.name().toLowerCase()).append("\"} ").append(node.reportedFreePages).append('\n');
            }
        }
        out.append("# HELP splitserve_node_pending_prompt_tokens Prompt tokens the router placed on each live node and"
                        + " whose prefill has not ended\n")
                .append("# TYPE splitserve_node_pending_prompt_tokens gauge\n");
        for (NodeState node : nodes) {
            if (node.alive && !node.decodes()) {
                out.append("splitserve_node_pending_prompt_tokens{node=\"").append(node.nodeId).append("\",role=\"")
                        .append(node.role.name().toLowerCase()).append("\"} ").append(node.pendingPromptTokens)
                        .append('\n');
            }
        }
        nodeSeries(out, nodes, "splitserve_prefix_cache_pages", "gauge",
                "KV pages each live node's prefix cache holds (in use or idle)", n -> n.cachedPages);
        nodeSeries(out, nodes, "splitserve_prefix_cache_lookup_tokens_total", "counter",
                "Prompt tokens each live node looked up in its prefix cache", n -> n.prefixLookupTokens);
        nodeSeries(out, nodes, "splitserve_prefix_cache_hit_tokens_total", "counter",
                "Prompt tokens each live node found in its prefix cache (not computed again)", n -> n.prefixHitTokens);
        nodeSeries(out, nodes, "splitserve_prefix_cache_evictions_total", "counter",
                "Cached pages each live node evicted", n -> n.prefixEvictions);
        nodeSeries(out, nodes, "splitserve_kv_prefix_resends_total", "counter",
                "KV transfers each live prefill node sent again whole, their decode node having lost the cached prefix"
                        + " they left out", n -> n.prefixResends);
        nodeSeries(out, nodes, "splitserve_kv_refused_total", "counter",
                "KV messages each live decode node refused: a Begin for no admission it holds, with a wrong attempt token"
                        + " or sender, or a message from another session than its transfer's", n -> n.kvRefused);
        counter(out, "splitserve_kv_transfers_ok_total", "KV transfers that reached their decode node", kvTransfersOk);
        counter(out, "splitserve_kv_transfers_failed_total", "KV transfers that failed", kvTransfersFailed);
        out.append("# HELP splitserve_kv_transfers_total KV transfers ended, by the path their bytes took and outcome\n")
                .append("# TYPE splitserve_kv_transfers_total counter\n");
        for (int path = 0; path < kvTransfersByPath.length; path++) {
            for (int outcome = 0; outcome < 2; outcome++) {
                final long n = kvTransfersByPath[path][outcome];
                if (path < 2 || n > 0) { // a path this router does not know appears only once it happened
                    out.append("splitserve_kv_transfers_total{path=\"").append(PATH_LABELS[path])
                            .append("\",outcome=\"").append(outcome == 0 ? "ok" : "failed").append("\"} ").append(n)
                            .append('\n');
                }
            }
        }
        counter(out, "splitserve_kv_transfer_bytes_total", "KV bytes prefill nodes transferred to decode nodes (either path)",
                kvTransferBytes);
        counter(out, "splitserve_requests_recovered_total", "Requests an earlier router run left unfinished, continued"
                + " after a restart from the tokens it had delivered", recovered);
        counter(out, "splitserve_preemptions_total", "Sequences a decode node preempted for lack of KV pages (re-queued)",
                preemptions);
        out.append("# HELP splitserve_attempt_retries_total Attempts that ended unfinished and were queued again, by"
                        + " reason\n")
                .append("# TYPE splitserve_attempt_retries_total counter\n");
        for (RetryReason reason : RetryReason.values()) {
            out.append("splitserve_attempt_retries_total{reason=\"").append(reason.label()).append("\"} ")
                    .append(retries[reason.ordinal()]).append('\n');
        }
        out.append("# HELP splitserve_placements_total Attempts placed, by what chose their nodes: a cached prompt prefix"
                        + " or load alone\n")
                .append("# TYPE splitserve_placements_total counter\n")
                .append("splitserve_placements_total{policy=\"prefix\"} ").append(placementsByPrefix).append('\n')
                .append("splitserve_placements_total{policy=\"load\"} ").append(placementsByLoad).append('\n');
        counter(out, "splitserve_placement_prefix_tokens_total", "Leading prompt tokens the chosen prefill node (or"
                + " colocated node) likely held in its prefix cache, over all attempts placed", placementPrefixTokens);
        counter(out, "splitserve_egress_dropped_total", "Client events dropped because the client did not keep up",
                egressDropped);
        out.append("# HELP splitserve_auth_refused_total Hellos, node events and client messages dropped because"
                        + " their sender did not prove the shared secret on their session, by what was dropped\n")
                .append("# TYPE splitserve_auth_refused_total counter\n");
        for (PeerAuthenticator.Refused what : PeerAuthenticator.Refused.values()) {
            out.append("splitserve_auth_refused_total{what=\"").append(what.label).append("\"} ")
                    .append(authenticator == null ? 0 : authenticator.refused(what)).append('\n');
        }
        summary(out, "splitserve_time_to_first_token_seconds", "Time from acceptance to the first token",
                timeToFirstToken);
        summary(out, "splitserve_time_per_output_token_seconds", "Time between consecutive tokens of a request",
                timePerOutputToken);
        return out.toString();
    }

    private static void counter(StringBuilder out, String name, String help, long value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(" counter\n").append(name).append(' ').append(value).append('\n');
    }

    private static void gauge(StringBuilder out, String name, String help, long value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(" gauge\n").append(name).append(' ').append(value).append('\n');
    }

    private static void summary(StringBuilder out, String name, String help, Histogram h) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(" summary\n");
        for (double q : QUANTILES) {
            out.append(name).append("{quantile=\"").append(q).append("\"} ")
                    .append(h.getValueAtPercentile(q * 100) / 1e9).append('\n');
        }
        out.append(name).append("_sum ").append(h.getMean() * h.getTotalCount() / 1e9).append('\n')
                .append(name).append("_count ").append(h.getTotalCount()).append('\n');
    }
}
