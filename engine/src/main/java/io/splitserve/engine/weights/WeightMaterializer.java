package io.splitserve.engine.weights;

/**
 * What a backend does with each logical weight the {@link WeightLayout} reads: turn fp32 values (already fused and
 * checked against the configuration) into the backend's own form, e.g. keep the arrays on the CPU or upload bf16
 * to the GPU. Linear weights come {@code [out][in]} row-major.
 */
public interface WeightMaterializer<E, N, L> {
    /** The token embedding table {@code [vocab][hidden]}. */
    E embedding(float[] table, int vocab, int hidden);

    N norm(float[] weight);

    /** A linear layer inside the decoder; {@code bias} is null when it has none. */
    L linear(float[] weight, float[] bias, int out, int in);

    /** An untied LM head {@code [vocab][hidden]}, no bias; its outputs are fp32 logits. */
    L lmHead(float[] weight, int vocab, int hidden);

    /** The LM head of tied embeddings: the embedding table read as a {@code [vocab][hidden]} linear. */
    L tiedLmHead(E embedding, int vocab, int hidden);
}
