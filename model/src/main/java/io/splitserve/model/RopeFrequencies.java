package io.splitserve.model;

/**
 * Builds the RoPE inverse-frequency table {@code invFreq[headDim/2]} that {@link CpuOps#rope} (and the CUDA rope
 * kernel) read. Frequency scaling is applied here, once, so the per-token op stays the same for every model:
 * {@code invFreq[i] = theta^(-2i/headDim)}, then optionally rescaled by Llama 3's piecewise rule (long wavelengths
 * divided by {@code factor}, short ones kept, the band between interpolated smoothly) or by YaRN's (the same
 * three regimes, with the band measured in dimension indices from rotation counts over the original context).
 */
public final class RopeFrequencies {
    private RopeFrequencies() {
    }

    /** Unscaled table: {@code invFreq[i] = 1 / theta^(2i / headDim)}. */
    public static float[] standard(int headDim, double theta) {
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException("RoPE head dimension must be positive and even, got " + headDim);
        }
        final float[] invFreq = new float[headDim / 2];
        for (int i = 0; i < invFreq.length; i++) {
            final float exponent = (float) (2 * i) / headDim;
            invFreq[i] = (float) (1.0 / Math.pow(theta, exponent));
        }
        return invFreq;
    }

    /**
     * Llama 3 scaled table ({@code rope_scaling.rope_type == "llama3"}): with wavelength {@code w = 2π / f},
     * frequencies with {@code w > original / lowFreqFactor} are divided by {@code factor}, those with
     * {@code w < original / highFreqFactor} are kept, and the rest are blended with
     * {@code s = (original / w − lowFreqFactor) / (highFreqFactor − lowFreqFactor)} as
     * {@code (1 − s)·f/factor + s·f}.
     */
    public static float[] llama3(int headDim, double theta, double factor, double lowFreqFactor,
                                 double highFreqFactor, int originalMaxPositions) {
        if (!(factor > 0) || !(highFreqFactor > lowFreqFactor) || originalMaxPositions <= 0) {
            throw new IllegalArgumentException("invalid llama3 rope scaling: factor " + factor + ", low_freq_factor "
                    + lowFreqFactor + ", high_freq_factor " + highFreqFactor + ", original_max_position_embeddings "
                    + originalMaxPositions);
        }
        final float[] invFreq = standard(headDim, theta);
        final double lowFreqWavelength = originalMaxPositions / lowFreqFactor;
        final double highFreqWavelength = originalMaxPositions / highFreqFactor;
        for (int i = 0; i < invFreq.length; i++) {
            final double f = invFreq[i];
            final double wavelength = 2 * Math.PI / f;
            if (wavelength > lowFreqWavelength) {
                invFreq[i] = (float) (f / factor);
            } else if (wavelength >= highFreqWavelength) {
                final double smooth = (originalMaxPositions / wavelength - lowFreqFactor)
                        / (highFreqFactor - lowFreqFactor);
                invFreq[i] = (float) ((1 - smooth) * f / factor + smooth * f);
            }
        }
        return invFreq;
    }

    /**
     * YaRN scaled table ({@code rope_type == "yarn"}), as transformers builds it: each frequency is a blend
     * {@code r·f/factor + (1 − r)·f} of its interpolated and original value, where the ramp
     * {@code r = clamp((i − low) / (high − low), 0, 1)} runs over the table index {@code i}. The correction range
     * comes from the dimension at which a frequency turns {@code b} times over the original context,
     * {@code d(b) = headDim·ln(original / (2π·b)) / (2·ln theta)}: {@code low = d(betaFast)},
     * {@code high = d(betaSlow)}, rounded outward (floor, ceil) when {@code truncate}, then clamped to
     * {@code [0, headDim − 1]}; equal bounds are pulled apart by 0.001. (The range is in head-dimension units
     * while the ramp steps through the half-size table; that is the reference rule and it is kept.)
     */
    public static float[] yarn(int headDim, double theta, double factor, int originalMaxPositions, double betaFast,
                               double betaSlow, boolean truncate) {
        if (!(factor >= 1) || originalMaxPositions <= 0 || !(betaFast >= betaSlow) || !(betaSlow > 0)) {
            throw new IllegalArgumentException("invalid yarn rope scaling: factor " + factor
                    + ", original_max_position_embeddings " + originalMaxPositions + ", beta_fast " + betaFast
                    + ", beta_slow " + betaSlow);
        }
        final float[] invFreq = standard(headDim, theta);
        double low = correctionDim(betaFast, headDim, theta, originalMaxPositions);
        double high = correctionDim(betaSlow, headDim, theta, originalMaxPositions);
        if (truncate) {
            low = Math.floor(low);
            high = Math.ceil(high);
        }
        low = Math.max(low, 0);
        high = Math.min(high, headDim - 1);
        if (low == high) {
            high += 0.001;
        }
        for (int i = 0; i < invFreq.length; i++) {
            final double interpolated = Math.min(Math.max((i - low) / (high - low), 0), 1);
            final double f = invFreq[i];
            invFreq[i] = (float) (interpolated * f / factor + (1 - interpolated) * f);
        }
        return invFreq;
    }

    /** The (fractional) head dimension whose frequency makes {@code rotations} turns over {@code positions}. */
    private static double correctionDim(double rotations, int headDim, double theta, int positions) {
        return headDim * Math.log(positions / (rotations * 2 * Math.PI)) / (2 * Math.log(theta));
    }
}
