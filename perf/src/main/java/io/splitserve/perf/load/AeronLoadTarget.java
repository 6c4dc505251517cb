package io.splitserve.perf.load;

import io.splitserve.client.GenerateOptions;
import io.splitserve.client.SplitServeClient;
import io.splitserve.client.SplitServeException;
import io.splitserve.client.Token;
import io.splitserve.client.TokenListener;
import io.splitserve.sbe.FinishReason;
import java.util.List;
import org.HdrHistogram.Recorder;

/**
 * Drives SplitServe through its Aeron client: greedy requests with ignore-EOS so each generates exactly the
 * workload's output length. A request counts as completed only when it ends with STOP or LENGTH; any other final
 * event (CANCELLED, ERROR) is an error of that kind. Token times are read on the client's receiving thread as each TokenEvent arrives.
 * With {@link #recordRouterDelay} it also records, for every token after the first (the first is the prefill node's),
 * the time from the decode node's sampling to the client's receipt: the latency the router adds per token.
 */
public final class AeronLoadTarget implements LoadTarget {
    private final SplitServeClient client;
    private final String model;
    private final boolean ownsClient;
    private Recorder routerDelay;

    /** Uses {@code client} for every request; closes it on {@link #close()} only if {@code ownsClient}. */
    public AeronLoadTarget(SplitServeClient client, String model, boolean ownsClient) {
        this.client = client;
        this.model = model == null ? "" : model;
        this.ownsClient = ownsClient;
    }

    /** Records each later token's sampled-to-received time, in nanoseconds, into {@code recorder} (set before load). */
    public AeronLoadTarget recordRouterDelay(Recorder recorder) {
        this.routerDelay = recorder;
        return this;
    }

    @Override
    public void submit(RequestSpec request, ResponseObserver observer) {
        client.submit(new GenerateOptions(model, request.prompt(), false, request.outputTokens(), 0f, 1f, 0, 0,
                List.of(), true), new TokenListener() {
                    private int tokens;

                    @Override
                    public void onToken(Token token) {
                        final long now = System.nanoTime();
                        if (token.tokenId() >= 0) {
                            if (routerDelay != null && token.index() > 0) {
                                routerDelay.recordValue(Math.max(0,
                                        token.receivedEpochNanos() - token.sampledEpochNanos()));
                            }
                            tokens++;
                            observer.onTokens(now);
                        }
                        if (token.finish() == FinishReason.STOP || token.finish() == FinishReason.LENGTH) {
                            observer.onComplete(now, token.promptTokens(), tokens);
                        } else if (token.isLast()) {
                            observer.onError(now, "FINISHED_" + token.finish().name());
                        }
                    }

                    @Override
                    public void onError(SplitServeException error) {
                        observer.onError(System.nanoTime(), error.code().name());
                    }
                });
    }

    @Override
    public String describe() {
        return "aeron client (id " + client.clientId() + ")";
    }

    @Override
    public void close() {
        if (ownsClient) {
            client.close();
        }
    }
}
