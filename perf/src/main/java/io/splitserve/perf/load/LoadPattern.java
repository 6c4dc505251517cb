package io.splitserve.perf.load;

/** How requests are offered over time: an open loop at a rate, or a closed loop of users. */
public interface LoadPattern {
    RunResult run(LoadTarget target, Workload workload, RunSettings settings) throws InterruptedException;

    /** One line for reports. */
    String describe();
}
