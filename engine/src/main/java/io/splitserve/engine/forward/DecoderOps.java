package io.splitserve.engine.forward;

/**
 * The op set the decoder model definition ({@link DecoderModel}) is written against; each backend implements it
 * once (the CPU over fp32 arrays, CUDA over its kernels). The backend owns the activation memory ({@link Act}) and
 * the per-step state (the batch's tokens, positions, KV slots, block tables, whether the step decodes or prefills,
 * its graph bucket), set before the model definition runs; an op therefore names only slots and weights, and acts
 * on every token row of the current step.
 *
 * <p>Weights are the backend's own types: {@code E} the embedding table, {@code N} a norm weight, {@code L} a
 * linear layer. A backend without a fused form of an op (say {@link #addRmsNorm}) composes it from smaller ones;
 * the model definition only promises the result. Implementations must not allocate per op: the eager path pays
 * its host cost on every step.
 */
public interface DecoderOps<E, N, L extends Linear> {
    /** {@code out[t] = table[tokenId[t]]}. */
    void embed(Act out, E table);

    /** {@code out = rmsNorm(in) · weight} per row. */
    void rmsNorm(Act out, Act in, N weight);

    /** Residual add and norm: {@code residual += x; out = rmsNorm(residual) · weight}. */
    void addRmsNorm(Act out, Act residual, Act x, N weight);

    /** {@code out = in · Wᵀ (+ bias)} per row. */
    void linear(Act out, Act in, L linear);

    /** Per-head RMSNorm in place of the Q heads (by {@code q}) and the K heads (by {@code k}) of fused QKV rows. */
    void qkNorm(Act qkv, N q, N k);

    /**
     * Rotary embedding in place of the Q heads of fused QKV rows at each token's position, and the token's K heads,
     * rotated the same way, and V heads written into {@code layer}'s pages at its slot. Afterwards only Q in the rows
     * is promised rotated: later ops read K and V from the pages (a backend may leave the rows' K heads as they came).
     */
    void ropeAndWriteKv(int layer, Act qkv);

    /**
     * Called right after {@link #ropeAndWriteKv} of each layer: a step that exports its KV hands the layer out here while
     * later layers compute; other steps do nothing.
     */
    void kvWritten(int layer);

    /**
     * Causal paged attention of the Q heads of {@code qkv} over {@code layer}'s pages (which already hold this step's
     * K and V); the backend picks its prefill or decode form for the current step.
     */
    void attention(int layer, Act out, Act qkv);

    /**
     * The MLP's first half: {@code out = silu(gate) · up} where {@code [gate | up] = in · gateUpᵀ}, gateUp the fused
     * {@code [2·intermediate][hidden]} linear. A backend may compute it in one pass or through its
     * {@link Act#GATE_UP} slot.
     */
    void gateUpSiluMul(Act out, Act in, L gateUp);

    /** Rows of the current step that need logits; 0 skips the final norm and the LM head. */
    int logitRows();

    /**
     * The LM head over the rows of {@code hidden} that need logits (gathered first where they are not every row),
     * into the backend's logits output, fp32 {@code [logitRows][vocab]}.
     */
    void logits(Act hidden, L lmHead);
}
