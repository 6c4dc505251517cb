package io.splitserve.perf.load;

/**
 * A way into a running SplitServe: the Aeron client or the HTTP shim. {@link #submit} must return promptly (the
 * open loop's schedule depends on it) and report the request's events to its observer from any thread.
 */
public interface LoadTarget extends AutoCloseable {
    void submit(RequestSpec request, ResponseObserver observer);

    /** One line for reports, e.g. {@code aeron (client id 42)} or {@code http://127.0.0.1:8000}. */
    String describe();

    @Override
    void close();
}
