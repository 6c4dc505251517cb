package io.splitserve.engine.weights;

import java.util.List;

/**
 * Every weight of a decoder model as one backend materialised it from the {@link WeightLayout}: {@code E} the
 * embedding table, {@code N} a norm weight, {@code L} a linear layer (the backend's own types, say fp32 arrays or
 * device buffers). The logical weights are the same on every backend: per layer a fused QKV linear (its bias fused
 * too where the architecture has one), the o projection, optional q/k head norms, a fused gate|up linear and the
 * down projection; then the final norm and the LM head (the embedding table itself when tied).
 */
public final class DecoderWeights<E, N, L> {

    /** One decoder layer; {@code qNorm} and {@code kNorm} are null where the architecture has none. */
    public record Layer<N, L>(N inputNorm, L qkv, L o, N qNorm, N kNorm, N postAttentionNorm, L gateUp, L down) {
    }

    private final E embedding;
    private final List<Layer<N, L>> layers;
    private final N finalNorm;
    private final L lmHead;

    public DecoderWeights(E embedding, List<Layer<N, L>> layers, N finalNorm, L lmHead) {
        this.embedding = embedding;
        this.layers = List.copyOf(layers);
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
    }

    public E embedding() {
        return embedding;
    }

    public int layerCount() {
        return layers.size();
    }

    public Layer<N, L> layer(int index) {
        return layers.get(index);
    }

    public N finalNorm() {
        return finalNorm;
    }

    public L lmHead() {
        return lmHead;
    }
}
