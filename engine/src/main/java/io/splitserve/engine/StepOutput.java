package io.splitserve.engine;

import io.splitserve.engine.sampling.TokenLogprobs;

/**
 * The token a sequence produced in one {@link Engine#step()}, with its logprobs when the sequence's parameters ask
 * for them (else null). The logprobs holder belongs to the engine and is refilled by the next step: read it (or
 * {@link TokenLogprobs#copy()} it) before stepping again.
 */
public record StepOutput(long sequenceId, int token, TokenLogprobs logprobs) {
    /** A token without logprobs. */
    public StepOutput(long sequenceId, int token) {
        this(sequenceId, token, null);
    }
}
