package io.splitserve.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitserve.client.ClientContext;
import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.SplitServeException;
import io.splitserve.client.Token;
import io.splitserve.client.TokenListener;
import io.splitserve.router.HttpShim;
import io.splitserve.router.HttpShimContext;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.agrona.concurrent.SystemEpochNanoClock;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code splitserve bench}: load on a one-JVM {@code serve} system. Closed-loop Aeron clients measure sustained
 * requests/s and generated tokens/s; every token a decode node published (index 1 on; the first token is the
 * prefill node's) is timed from the node's sampling time to the client's receipt, over Aeron IPC and over HTTP SSE,
 * into HdrHistograms: the router's added latency per token.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Measure serve on this machine: requests/s and tokens/s under closed-loop load, and the router's"
        + " added latency per token (decode node publish -> client receive) over Aeron IPC and HTTP.")
final class BenchCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--clients", paramLabel = "N", defaultValue = "8",
        description = "Concurrent closed-loop clients (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "20",
        description = "Duration of each measured phase (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "64",
        description = "Tokens generated per request, end-of-sequence ignored (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--prompt", paramLabel = "TEXT", defaultValue = "Once upon a time, in a small village by the sea,",
        description = "Prompt of every request (default: ${DEFAULT-VALUE}).")
    String prompt;

    @Option(names = "--prefill-nodes", paramLabel = "N", defaultValue = "1", description = "Prefill nodes (default: ${DEFAULT-VALUE}).")
    int prefillNodes;

    @Option(names = "--decode-nodes", paramLabel = "M", defaultValue = "1", description = "Decode nodes (default: ${DEFAULT-VALUE}).")
    int decodeNodes;

    @Option(names = "--colocated", description = "Measure the colocated baseline instead.")
    boolean colocated;

    @Override
    public Integer call() throws Exception {
        final Path dir = modelOptions.modelDir();
        final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        final ServingSystem.Options options = new ServingSystem.Options().modelDir(dir)
                .modelName(modelOptions.servedName(dir)).prefillNodes(prefillNodes).decodeNodes(decodeNodes)
                .colocated(colocated).pageSize(modelOptions.pageSize)
                .kvCacheBytes(modelOptions.kvBytesPerNode(dir, prefillNodes + decodeNodes))
                .routerSettings(ctx -> ctx.maxQueuedRequests(Math.max(256, clients * 2)));
        try (ServingSystem system = ServingSystem.start(options);
             SplitServeClient client = SplitServeClient.connect(new ClientContext()
                     .requestTimeoutNs(TimeUnit.MINUTES.toNanos(5)), system.aeron());
             HttpShim http = new HttpShim(system.router(), new HttpShimContext().port(0))) {
            final GenerateOptions request = new GenerateOptions("", prompt, false, maxTokens, 0f, 1f, 0, 0, List.of(), true);
            load(client, request, Math.max(1, seconds / 4), new Recorder(3)); // warm-up
            final Recorder ipc = new Recorder(3);
            final long[] counts = load(client, request, seconds, ipc);
            final Recorder overHttp = new Recorder(3);
            httpLoad(http.port(), seconds, overHttp);
            out.printf("setup: %s, %d clients, %d tokens per request, prompt '%s'%n", colocated
                    ? decodeNodes + " colocated node(s)" : prefillNodes + " prefill + " + decodeNodes + " decode node(s)",
                    clients, maxTokens, prompt);
            out.printf("sustained over Aeron IPC: %.2f requests/s, %.1f generated tokens/s (%d requests in %d s)%n",
                    counts[0] / (double) seconds, counts[1] / (double) seconds, counts[0], seconds);
            out.println();
            out.println("| router added latency per token (us) | count | p50 | p90 | p99 | p99.9 | max |");
            out.println("|---|---|---|---|---|---|---|");
            row(out, "Aeron IPC client", ipc.getIntervalHistogram());
            row(out, "HTTP SSE client", overHttp.getIntervalHistogram());
        }
        return 0;
    }

    /** Closed loop: {@code clients} requests in flight for {@code seconds}; returns {requests, tokens} completed. */
    private long[] load(SplitServeClient client, GenerateOptions request, int seconds, Recorder latency)
            throws InterruptedException {
        final long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        final AtomicLong requests = new AtomicLong();
        final AtomicLong tokens = new AtomicLong();
        final CountDownLatch done = new CountDownLatch(clients);
        for (int c = 0; c < clients; c++) {
            client.submit(request, new TokenListener() {
                @Override
                public void onToken(Token token) {
                    if (token.index() > 0) {
                        latency.recordValue(Math.max(0, token.receivedEpochNanos() - token.sampledEpochNanos()));
                    }
                    if (!token.isLast()) {
                        return;
                    }
                    requests.incrementAndGet();
                    tokens.addAndGet(token.index() + 1);
                    if (System.nanoTime() < end) {
                        client.submit(request, this);
                    } else {
                        done.countDown();
                    }
                }

                @Override
                public void onError(SplitServeException error) {
                    System.err.println("bench request failed: " + error.getMessage());
                    done.countDown();
                }
            });
        }
        done.await();
        return new long[] {requests.get(), tokens.get()};
    }

    /** HTTP clients streaming completions with timestamps for {@code seconds}, recording per-token latency. */
    private void httpLoad(int port, int seconds, Recorder latency) throws InterruptedException {
        final HttpClient http = HttpClient.newHttpClient();
        final SystemEpochNanoClock clock = new SystemEpochNanoClock();
        final long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        final String body = JSON.createObjectNode().put("prompt", prompt).put("max_tokens", maxTokens)
                .put("temperature", 0).put("ignore_eos", true).put("stream", true).toString();
        final HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                .header(HttpShim.TIMESTAMPS_HEADER, "true").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        final Thread[] threads = new Thread[clients];
        for (int c = 0; c < clients; c++) {
            threads[c] = new Thread(() -> {
                while (System.nanoTime() < end) {
                    try {
                        final HttpResponse<Stream<String>> response = http.send(request, HttpResponse.BodyHandlers.ofLines());
                        final int[] index = {0};
                        response.body().forEach(line -> {
                            final long received = clock.nanoTime();
                            if (!line.startsWith("data: {")) {
                                return;
                            }
                            try {
                                final JsonNode chunk = JSON.readTree(line.substring(6));
                                if (chunk.has("sampled_at_ns") && index[0]++ > 0) {
                                    latency.recordValue(Math.max(0, received - chunk.get("sampled_at_ns").asLong()));
                                }
                            } catch (java.io.IOException e) {
                                throw new IllegalStateException("unreadable chunk: " + line, e);
                            }
                        });
                    } catch (java.io.IOException e) {
                        System.err.println("bench HTTP request failed: " + e.getMessage());
                        return;
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            });
            threads[c].start();
        }
        for (Thread t : threads) {
            t.join();
        }
    }

    private static void row(PrintStream out, String name, Histogram h) {
        out.printf("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f |%n", name, h.getTotalCount(),
                h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(90) / 1e3, h.getValueAtPercentile(99) / 1e3,
                h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3);
    }
}
