package io.splitserve.model;

/**
 * YaRN rope scaling parameters ({@code rope_type: "yarn"}, Qwen2.5/Qwen3 long-context configs), resolved as
 * transformers resolves them, so the record holds exactly the numbers the tables are built from.
 *
 * @param factor               context extension ratio; interpolated frequencies are divided by it
 * @param originalMaxPositions the pretraining context length the correction range is measured against
 * @param betaFast             rotations (over the original length) above which a frequency is kept unscaled
 * @param betaSlow             rotations below which a frequency is fully interpolated
 * @param truncate             round the correction range outward to whole dimensions (transformers' default)
 * @param attentionFactor      the factor on cos and sin: the config's {@code attention_factor}, or derived from
 *                             {@code factor} (and {@code mscale}/{@code mscale_all_dim}) by {@link #mscale}
 */
public record YarnScaling(double factor, int originalMaxPositions, double betaFast, double betaSlow,
                          boolean truncate, double attentionFactor) implements RopeScaling {

    public YarnScaling {
        if (!(factor >= 1) || originalMaxPositions <= 0 || !(betaFast >= betaSlow) || !(betaSlow > 0)
                || !(attentionFactor > 0) || Double.isInfinite(factor) || Double.isInfinite(attentionFactor)) {
            throw new IllegalArgumentException("invalid yarn rope scaling: factor " + factor
                    + ", original_max_position_embeddings " + originalMaxPositions + ", beta_fast " + betaFast
                    + ", beta_slow " + betaSlow + ", attention_factor " + attentionFactor);
        }
    }

    /** YaRN's magnitude correction {@code 0.1·mscale·ln(scale) + 1}, or 1 when {@code scale <= 1}. */
    public static double mscale(double scale, double mscale) {
        return scale <= 1 ? 1.0 : 0.1 * mscale * Math.log(scale) + 1.0;
    }

    @Override
    public float[] invFreq(int headDim, double theta) {
        return RopeFrequencies.yarn(headDim, theta, factor, originalMaxPositions, betaFast, betaSlow, truncate);
    }
}
