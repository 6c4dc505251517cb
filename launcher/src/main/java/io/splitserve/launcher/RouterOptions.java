package io.splitserve.launcher;

import io.splitserve.router.HttpShimContext;
import io.splitserve.router.RouterContext;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Option;

/**
 * The router's options (limits, HTTP, Aeron client channels, journal, prefix caching and KV-aware placement), shared by
 * serve and router (a mixin).
 */
final class RouterOptions {
    @Option(names = "--max-input-length", paramLabel = "N", defaultValue = "4096",
        description = "Longest prompt accepted, in tokens (default: ${DEFAULT-VALUE}).")
    int maxInputLength;

    @Option(names = "--max-output-length", paramLabel = "N", defaultValue = "1024",
        description = "Largest max_tokens accepted (default: ${DEFAULT-VALUE}).")
    int maxOutputLength;

    @Option(names = "--max-queued-requests", paramLabel = "N", defaultValue = "256",
        description = "Requests waiting for a node beyond which new ones get 429 / OVERLOADED at once"
            + " (default: ${DEFAULT-VALUE}).")
    int maxQueuedRequests;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
        description = "HTTP listen address (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8000",
        description = "HTTP port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--api-key", paramLabel = "KEY",
        description = "Require 'Authorization: Bearer KEY' on /v1 requests (default: no key).")
    String apiKey;

    @Option(names = "--max-concurrent-requests", paramLabel = "N", defaultValue = "64",
        description = "HTTP completions open at once (reading their body, waiting or streaming); one more gets 429 with"
            + " Retry-After at once (default: ${DEFAULT-VALUE}).")
    int maxConcurrentRequests;

    @Option(names = "--request-body-timeout-ms", paramLabel = "MS", defaultValue = "30000",
        description = "An HTTP request body that has not arrived in full this long after its headers gets 408 and frees"
            + " its place (default: ${DEFAULT-VALUE}).")
    long requestBodyTimeoutMs;

    @Option(names = "--request-header-timeout-ms", paramLabel = "MS", defaultValue = "10000",
        description = "An HTTP connection's request line and headers must arrive this long after its first byte; the"
            + " JDK's server times them together with the body, so a connection sending them slowly or never is"
            + " closed this plus --request-body-timeout-ms (rounded up to seconds) after its first byte"
            + " (default: ${DEFAULT-VALUE}).")
    long requestHeaderTimeoutMs;

    @Option(names = "--keep-alive-timeout-ms", paramLabel = "MS", defaultValue = "30000",
        description = "An idle persistent HTTP connection is closed after this long, rounded up to seconds; so is a new"
            + " one that sends nothing, after the lesser of this and the request timeout (default: ${DEFAULT-VALUE}).")
    long keepAliveTimeoutMs;

    @Option(names = "--heartbeat-timeout-ms", paramLabel = "MS", defaultValue = "1000",
        description = "A node silent this long is treated as failed; nodes send heartbeats every 100 ms from a thread"
            + " that never waits for an engine step (default: ${DEFAULT-VALUE}).")
    long heartbeatTimeoutMs;

    @Option(names = "--kv-overcommit", paramLabel = "F", defaultValue = "1.0",
        description = "Promise decode nodes up to F times their KV pages for prompt + max_tokens; above 1 more requests"
            + " run at once and a full decode node preempts its newest sequence, re-queued by the router"
            + " (default: ${DEFAULT-VALUE}).")
    double kvOvercommit;

    @Option(names = "--enable-prefix-caching", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "Nodes cache prompt prefixes and the router places each request by the prefix a node likely"
            + " holds weighed against its load; --no-enable-prefix-caching places by load alone (default: on).")
    boolean prefixCaching;

    @Option(names = "--kv-aware-balance", paramLabel = "F", defaultValue = "1.0",
        description = "With prefix caching, tokens of load one cached prompt token is worth when the router picks a"
            + " node (score = cached prefix tokens - F * load tokens): 0 follows the cache, larger values follow load"
            + " (default: ${DEFAULT-VALUE}).")
    double kvAwareBalance;

    @Option(names = "--kv-aware-imbalance-factor", paramLabel = "F", defaultValue = "4.0",
        description = "With prefix caching, a request goes by load alone when the node holding its prefix carries more"
            + " than F times the load of the least loaded node plus the prompt (default: ${DEFAULT-VALUE}).")
    double kvAwareImbalanceFactor;

    @Option(names = "--journal", paramLabel = "DIR",
        description = "Chronicle Queue directory journaling every accepted and completed request (default: none).")
    Path journal;

    @Option(names = "--max-recoveries", paramLabel = "N", defaultValue = "3",
        description = "With a journal, times a restarted router continues a request an earlier run left unfinished;"
            + " past that it fails with ROUTER_RESTARTED, and 0 fails every one (default: ${DEFAULT-VALUE}).")
    int maxRecoveries;

    @Option(names = "--ingress-channel", paramLabel = "URI", defaultValue = "aeron:ipc",
        description = "Aeron channel clients send requests on (default: ${DEFAULT-VALUE}).")
    String ingressChannel;

    @Option(names = "--ingress-stream", paramLabel = "ID", defaultValue = "101",
        description = "Stream id of the ingress channel (default: ${DEFAULT-VALUE}).")
    int ingressStreamId;

    @Option(names = "--egress-channel", paramLabel = "URI", defaultValue = "aeron:ipc",
        description = "Aeron channel the router answers clients on (default: ${DEFAULT-VALUE}).")
    String egressChannel;

    @Option(names = "--egress-stream", paramLabel = "ID", defaultValue = "102",
        description = "Stream id of the egress channel (default: ${DEFAULT-VALUE}).")
    int egressStreamId;

    void apply(RouterContext ctx) {
        if (maxRecoveries < 0) {
            throw new IllegalArgumentException("--max-recoveries must be 0 or more, got " + maxRecoveries);
        }
        if (!(kvOvercommit >= 1)) {
            throw new IllegalArgumentException("--kv-overcommit must be at least 1, got " + kvOvercommit);
        }
        if (!(kvAwareBalance >= 0) || !(kvAwareImbalanceFactor >= 1)) {
            throw new IllegalArgumentException("--kv-aware-balance must be 0 or more and --kv-aware-imbalance-factor at"
                    + " least 1, got " + kvAwareBalance + " and " + kvAwareImbalanceFactor);
        }
        ctx.prefixCaching(prefixCaching).kvAwareBalance(kvAwareBalance).kvAwareImbalanceFactor(kvAwareImbalanceFactor)
                .kvOvercommit(kvOvercommit).maxInputLength(maxInputLength).maxOutputLength(maxOutputLength).maxQueuedRequests(maxQueuedRequests)
                .heartbeatTimeoutNs(TimeUnit.MILLISECONDS.toNanos(heartbeatTimeoutMs)).journalDir(journal)
                .maxRecoveries(maxRecoveries)
                .ingressChannel(ingressChannel).ingressStreamId(ingressStreamId)
                .egressChannel(egressChannel).egressStreamId(egressStreamId);
    }

    HttpShimContext httpContext() {
        if (maxConcurrentRequests <= 0 || requestBodyTimeoutMs <= 0 || requestHeaderTimeoutMs <= 0
                || keepAliveTimeoutMs <= 0) {
            throw new IllegalArgumentException("--max-concurrent-requests, --request-body-timeout-ms,"
                    + " --request-header-timeout-ms and --keep-alive-timeout-ms must be positive, got "
                    + maxConcurrentRequests + ", " + requestBodyTimeoutMs + ", " + requestHeaderTimeoutMs + " and "
                    + keepAliveTimeoutMs);
        }
        return new HttpShimContext().host(host).port(port).apiKey(apiKey).maxConcurrentRequests(maxConcurrentRequests)
                .bodyReadTimeoutNs(TimeUnit.MILLISECONDS.toNanos(requestBodyTimeoutMs))
                .requestHeaderTimeoutNs(TimeUnit.MILLISECONDS.toNanos(requestHeaderTimeoutMs))
                .keepAliveTimeoutNs(TimeUnit.MILLISECONDS.toNanos(keepAliveTimeoutMs));
    }
}
