package io.splitserve.client;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One request's events as a blocking iterator: {@link #next()} waits for the next token; the iteration ends after the
 * last one; an error is thrown from {@link #next()} as {@link SplitServeException}. Closing it cancels the request
 * if it is still running.
 */
public final class TokenStream implements Iterator<Token>, AutoCloseable {
    private final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
    private final SplitServeClient client;
    private final long waitNs;
    private long requestId;
    private boolean ended;

    TokenStream(SplitServeClient client, long waitNs) {
        this.client = client;
        this.waitNs = waitNs;
    }

    void start(long requestId) {
        this.requestId = requestId;
    }

    TokenListener listener() {
        return new TokenListener() {
            @Override
            public void onToken(Token token) {
                events.add(token);
            }

            @Override
            public void onError(SplitServeException error) {
                events.add(error);
            }
        };
    }

    public long requestId() {
        return requestId;
    }

    @Override
    public boolean hasNext() {
        return !ended;
    }

    @Override
    public Token next() {
        if (ended) {
            throw new NoSuchElementException("the stream of request " + requestId + " has ended");
        }
        final Object event;
        try {
            // the client times the request out itself; this bound only guards against a closed client
            event = events.poll(waitNs, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for request " + requestId, e);
        }
        if (event == null) {
            ended = true;
            throw new IllegalStateException("no event for request " + requestId + " and the client timed nothing out");
        }
        if (event instanceof SplitServeException e) {
            ended = true;
            throw e;
        }
        final Token token = (Token) event;
        ended = token.isLast();
        return token;
    }

    @Override
    public void close() {
        if (!ended) {
            ended = true;
            client.cancel(requestId);
        }
    }
}
