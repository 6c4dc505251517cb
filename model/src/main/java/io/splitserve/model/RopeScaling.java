package io.splitserve.model;

/**
 * A rope scaling rule from {@code config.json} ({@code rope_scaling} or {@code rope_parameters} with a
 * {@code rope_type} other than {@code default}). It exists so that the forward pass sees every rule the same way:
 * a rescaled inverse-frequency table (the per-token rope op never changes) and an attention factor {@code m} that
 * Hugging Face multiplies into cos and sin. Rotating q and k each by {@code m} multiplies q·k by {@code m²}, so
 * {@link ModelConfig#attentionScale()} folds {@code m²} into the softmax scale instead of touching the rope kernels.
 */
public sealed interface RopeScaling permits Llama3Scaling, YarnScaling {

    /** The scaled table {@code invFreq[headDim / 2]} for this rule over RoPE base {@code theta}. */
    float[] invFreq(int headDim, double theta);

    /** The factor Hugging Face multiplies cos and sin by; 1 for rules that leave attention alone. */
    double attentionFactor();
}
