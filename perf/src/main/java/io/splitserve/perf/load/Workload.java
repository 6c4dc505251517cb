package io.splitserve.perf.load;

/**
 * The source of a load run's requests. Implementations are deterministic for a given seed or input, and
 * thread-safe: a closed loop's users draw from one workload concurrently.
 */
public interface Workload {
    RequestSpec next();

    /** One line for reports. */
    String describe();
}
