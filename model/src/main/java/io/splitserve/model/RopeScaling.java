package io.splitserve.model;

/**
 * Llama 3 rope scaling parameters ({@code rope_type: "llama3"}): frequencies whose wavelength exceeds
 * {@code originalMaxPositions / lowFreqFactor} are divided by {@code factor}, those below
 * {@code originalMaxPositions / highFreqFactor} are kept, and the band between is interpolated.
 */
public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
}
