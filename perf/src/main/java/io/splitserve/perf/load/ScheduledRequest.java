package io.splitserve.perf.load;

/** One request of an open-loop run and when it is due: {@code offsetNs} after the run's start. */
public record ScheduledRequest(long offsetNs, RequestSpec request) {
    public ScheduledRequest {
        if (offsetNs < 0 || request == null) {
            throw new IllegalArgumentException("a scheduled request needs a request and an offset not negative");
        }
    }
}
