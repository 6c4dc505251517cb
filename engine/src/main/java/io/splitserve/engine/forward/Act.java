package io.splitserve.engine.forward;

/**
 * The activations of a decoder step, named so the model definition can say which op reads and writes what while
 * the backend owns the memory (a float array on the CPU, a device buffer on the GPU). Every slot holds one row per
 * token of the step, rows back to back.
 */
public enum Act {
    /** The residual stream, {@code hidden} wide. */
    RESIDUAL,
    /** A sublayer's output before it is added to the residual stream, {@code hidden} wide. */
    X,
    /** The normalised input of a sublayer, {@code hidden} wide. */
    NORMED,
    /** Fused {@code [q | k | v]} rows, {@code qDim + 2·kvDim} wide: heads of Q, then of K, then of V. */
    QKV,
    /** Attention output, {@code qDim} wide. */
    ATTENTION,
    /** Fused {@code [gate | up]} rows, {@code 2·intermediate} wide. */
    GATE_UP,
    /** {@code silu(gate)·up}, {@code intermediate} wide. */
    ACTIVATION
}
