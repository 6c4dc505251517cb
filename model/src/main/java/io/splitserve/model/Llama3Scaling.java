package io.splitserve.model;

/**
 * Llama 3 rope scaling parameters ({@code rope_type: "llama3"}): frequencies whose wavelength exceeds
 * {@code originalMaxPositions / lowFreqFactor} are divided by {@code factor}, those below
 * {@code originalMaxPositions / highFreqFactor} are kept, and the band between is interpolated. It leaves the
 * attention scale alone ({@link #attentionFactor()} is 1).
 */
public record Llama3Scaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions)
        implements RopeScaling {

    @Override
    public float[] invFreq(int headDim, double theta) {
        return RopeFrequencies.llama3(headDim, theta, factor, lowFreqFactor, highFreqFactor, originalMaxPositions);
    }

    @Override
    public double attentionFactor() {
        return 1.0;
    }
}
