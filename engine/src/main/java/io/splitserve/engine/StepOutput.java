package io.splitserve.engine;

/** The token a sequence produced in one {@link Engine#step()}. */
public record StepOutput(long sequenceId, int token) {
}
