package io.splitserve.engine.forward;

import io.splitserve.engine.weights.DecoderWeights;

/**
 * The decoder-only transformer of the Llama 3 / Qwen2 / Qwen3 family, written once over {@link DecoderOps}; the
 * CPU and the CUDA runner both run a step through {@link #forward}. What differs between the architectures is in
 * the weights ({@link io.splitserve.engine.weights.WeightLayout}): q/k/v biases live inside the fused QKV linear, a
 * tied LM head is the embedding table, and q/k head norms run where the layer has them.
 *
 * <p>Per layer: {@code RMSNorm + QKV → [q/k head norm] → RoPE + KV write → paged attention → o_proj added to the
 * residual → RMSNorm + gate|up + SiLU·up → down added to the residual}, each norm folded into the linear after it
 * and each residual add into the linear before it; the first layer's residual stream is the embedding. Then the
 * final norm and the LM head on the rows that need logits.
 */
public final class DecoderModel<E, N, L extends Linear> {
    private final DecoderWeights<E, N, L> weights;

    public DecoderModel(DecoderWeights<E, N, L> weights) {
        this.weights = weights;
    }

    public DecoderWeights<E, N, L> weights() {
        return weights;
    }

    /** Runs the step the ops were prepared for, leaving its logits in the ops' logits output. */
    public void forward(DecoderOps<E, N, L> ops) {
        ops.embed(Act.RESIDUAL, weights.embedding());
        for (int l = 0; l < weights.layerCount(); l++) {
            final DecoderWeights.Layer<N, L> w = weights.layer(l);
            ops.rmsNormLinear(Act.QKV, Act.RESIDUAL, w.inputNorm(), w.qkv());
            if (w.qNorm() != null) {
                ops.qkNorm(Act.QKV, w.qNorm(), w.kNorm());
            }
            ops.ropeAndWriteKv(l, Act.QKV);
            ops.kvWritten(l);
            ops.attention(l, Act.ATTENTION, Act.QKV);
            ops.linearAddResidual(Act.RESIDUAL, Act.ATTENTION, w.o());
            ops.rmsNormGateUpSiluMul(Act.ACTIVATION, Act.RESIDUAL, w.postAttentionNorm(), w.gateUp());
            ops.linearAddResidual(Act.RESIDUAL, Act.ACTIVATION, w.down());
        }
        if (ops.logitRows() > 0) {
            ops.logits(Act.RESIDUAL, weights.finalNorm(), weights.lmHead());
        }
    }
}
