package io.splitserve.engine.forward;

import io.splitserve.engine.weights.DecoderWeights;

/**
 * The decoder-only transformer of the Llama 3 / Qwen2 / Qwen3 family, written once over {@link DecoderOps}; the
 * CPU and the CUDA runner both run a step through {@link #forward}. What differs between the architectures is in
 * the weights ({@link io.splitserve.engine.weights.WeightLayout}): q/k/v biases live inside the fused QKV linear, a
 * tied LM head is the embedding table, and q/k head norms run where the layer has them.
 *
 * <p>Per layer: {@code residual → RMSNorm → QKV → [q/k head norm] → RoPE + KV write → paged attention → o_proj →
 * residual add + RMSNorm → gate|up + SiLU·up → down}; the first layer's residual stream is the embedding, later
 * layers add the previous layer's output first. Then the final norm and the LM head on the rows that need logits.
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
            if (l == 0) {
                ops.rmsNorm(Act.NORMED, Act.RESIDUAL, w.inputNorm());
            } else {
                ops.addRmsNorm(Act.NORMED, Act.RESIDUAL, Act.X, w.inputNorm());
            }
            ops.linear(Act.QKV, Act.NORMED, w.qkv());
            if (w.qNorm() != null) {
                ops.qkNorm(Act.QKV, w.qNorm(), w.kNorm());
            }
            ops.ropeAndWriteKv(l, Act.QKV);
            ops.kvWritten(l);
            ops.attention(l, Act.ATTENTION, Act.QKV);
            ops.linear(Act.X, Act.ATTENTION, w.o());
            ops.addRmsNorm(Act.NORMED, Act.RESIDUAL, Act.X, w.postAttentionNorm());
            ops.gateUpSiluMul(Act.ACTIVATION, Act.NORMED, w.gateUp());
            ops.linear(Act.X, Act.ACTIVATION, w.down());
        }
        if (ops.logitRows() > 0) {
            ops.addRmsNorm(Act.NORMED, Act.RESIDUAL, Act.X, weights.finalNorm());
            ops.logits(Act.NORMED, weights.lmHead());
        }
    }
}
