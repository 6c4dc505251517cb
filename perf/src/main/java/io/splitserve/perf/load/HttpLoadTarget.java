package io.splitserve.perf.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import org.HdrHistogram.Recorder;
import org.agrona.concurrent.EpochNanoClock;
import org.agrona.concurrent.SystemEpochNanoClock;

/**
 * Drives SplitServe through its OpenAI-compatible HTTP shim: streamed {@code POST /v1/completions} (SSE) with
 * {@code ignore_eos} and usage reporting, greedy. Each non-empty streamed chunk counts as one arrival of text (the
 * shim holds back chunks whose token completes no character, so an HTTP inter-token gap may span several tokens);
 * the token counts come from the final usage chunk. A non-200 answer is an error named {@code HTTP_<status>_<code>},
 * an error chunk inside the stream {@code STREAM_<code>}, a stream that ends without a finish reason
 * {@code STREAM_TRUNCATED}, and a connection failure {@code CONNECTION}. With {@link #recordRouterDelay} it asks the
 * shim for each chunk's sampling time and records, for every chunk after the first, the time from the decode node's
 * sampling to the chunk's receipt here: the latency the router and the shim add per token.
 */
public final class HttpLoadTarget implements LoadTarget {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The shim's request header asking for {@code sampled_at_ns} in each chunk (router's HttpShim.TIMESTAMPS_HEADER). */
    static final String TIMESTAMPS_HEADER = "X-SplitServe-Timestamps";

    private final URI completions;
    private final String model;
    private final ExecutorService executor;
    private final HttpClient http;
    private final EpochNanoClock clock = new SystemEpochNanoClock();
    private Recorder routerDelay;

    /** {@code baseUrl} such as {@code http://127.0.0.1:8000}; {@code model} may be empty for the server's model. */
    public HttpLoadTarget(String baseUrl, String model) {
        final String base = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        try {
            this.completions = URI.create(base + "/v1/completions");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a valid URL: " + baseUrl);
        }
        if (completions.getScheme() == null || !completions.getScheme().startsWith("http")) {
            throw new IllegalArgumentException("the HTTP target must be an http:// or https:// URL, got " + baseUrl);
        }
        this.model = model == null ? "" : model;
        this.executor = Executors.newCachedThreadPool(r -> {
            final Thread t = new Thread(r, "splitserve-bench-http");
            t.setDaemon(true);
            return t;
        });
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(executor)
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** Records each later chunk's sampled-to-received time, in nanoseconds, into {@code recorder} (set before load). */
    public HttpLoadTarget recordRouterDelay(Recorder recorder) {
        this.routerDelay = recorder;
        return this;
    }

    @Override
    public void submit(RequestSpec request, ResponseObserver observer) {
        final ObjectNode body = JSON.createObjectNode().put("prompt", request.prompt())
                .put("max_tokens", request.outputTokens()).put("temperature", 0).put("stream", true)
                .put("ignore_eos", true);
        if (!model.isEmpty()) {
            body.put("model", model);
        }
        body.putObject("stream_options").put("include_usage", true);
        final HttpRequest.Builder builder = HttpRequest.newBuilder(completions)
                .header("Content-Type", "application/json");
        if (routerDelay != null) {
            builder.header(TIMESTAMPS_HEADER, "true");
        }
        final HttpRequest httpRequest = builder.POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
        final SseReader reader = new SseReader(observer, routerDelay, clock);
        http.sendAsync(httpRequest, info -> {
            reader.status = info.statusCode();
            return HttpResponse.BodySubscribers.fromLineSubscriber(reader);
        }).whenComplete((response, failure) -> {
            if (failure != null) {
                reader.fail("CONNECTION");
            }
        });
    }

    @Override
    public String describe() {
        return "http " + completions;
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }

    /** Reads one response: SSE lines of a 200 answer, or the JSON error body of any other status. */
    private static final class SseReader implements Flow.Subscriber<String> {
        private final ResponseObserver observer;
        private final Recorder routerDelay;
        private final EpochNanoClock clock;
        private final StringBuilder errorBody = new StringBuilder();
        volatile int status;
        private boolean finished;
        private boolean ended;
        private int promptTokens;
        private int completionTokens = -1;
        private int chunks;
        private int timedChunks;

        SseReader(ResponseObserver observer, Recorder routerDelay, EpochNanoClock clock) {
            this.observer = observer;
            this.routerDelay = routerDelay;
            this.clock = clock;
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(String line) {
            final long now = System.nanoTime();
            final long receivedEpochNs = routerDelay == null ? 0 : clock.nanoTime();
            if (status != 200) {
                errorBody.append(line);
                return;
            }
            if (ended || !line.startsWith("data:")) {
                return;
            }
            final String data = line.substring(5).trim();
            if (data.equals("[DONE]")) {
                complete(now);
                return;
            }
            final JsonNode chunk;
            try {
                chunk = JSON.readTree(data);
            } catch (IOException e) {
                fail("STREAM_MALFORMED");
                return;
            }
            if (chunk.has("error")) {
                fail("STREAM_" + chunk.path("error").path("code").asText("error").toUpperCase());
                return;
            }
            if (chunk.hasNonNull("usage")) {
                promptTokens = chunk.get("usage").path("prompt_tokens").asInt();
                completionTokens = chunk.get("usage").path("completion_tokens").asInt();
            }
            if (routerDelay != null && chunk.has("sampled_at_ns") && timedChunks++ > 0) {
                routerDelay.recordValue(Math.max(0, receivedEpochNs - chunk.get("sampled_at_ns").asLong()));
            }
            final JsonNode choice = chunk.path("choices").path(0);
            if (!choice.path("text").asText("").isEmpty()) {
                chunks++;
                observer.onTokens(now);
            }
            if (choice.hasNonNull("finish_reason")) {
                final String reason = choice.get("finish_reason").asText();
                if (!reason.equals("length") && !reason.equals("stop")) {
                    fail("FINISHED_" + reason.toUpperCase());
                    return;
                }
                finished = true;
            }
        }

        @Override
        public void onError(Throwable throwable) {
            fail("CONNECTION");
        }

        @Override
        public void onComplete() {
            final long now = System.nanoTime();
            if (status != 200) {
                String code = "";
                try {
                    code = JSON.readTree(errorBody.toString()).path("error").path("code").asText("");
                } catch (IOException e) {
                    // a body that is not JSON leaves the status alone to name the error
                }
                fail("HTTP_" + status + (code.isEmpty() ? "" : "_" + code.toUpperCase()));
            } else {
                complete(now);
            }
        }

        private synchronized void complete(long now) {
            if (ended) {
                return;
            }
            if (!finished) {
                fail("STREAM_TRUNCATED");
                return;
            }
            ended = true;
            observer.onComplete(now, promptTokens, completionTokens >= 0 ? completionTokens : chunks);
        }

        synchronized void fail(String kind) {
            if (!ended) {
                ended = true;
                observer.onError(System.nanoTime(), kind);
            }
        }
    }
}
