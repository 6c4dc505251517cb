package io.splitserve.model;

/**
 * Builds the RoPE inverse-frequency table {@code invFreq[headDim/2]} that {@link CpuOps#rope} (and the CUDA rope
 * kernel) read. Frequency scaling is applied here, once, so the per-token op stays the same for every model:
 * {@code invFreq[i] = theta^(-2i/headDim)}, then optionally rescaled by Llama 3's piecewise rule (long wavelengths
 * divided by {@code factor}, short ones kept, the band between interpolated smoothly).
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
}
