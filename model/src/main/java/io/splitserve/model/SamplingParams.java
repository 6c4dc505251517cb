package io.splitserve.model;

/**
 * How one sequence picks its next token. Temperature 0 is greedy (argmax, the seed is unused). Otherwise logits
 * are divided by the temperature and filtered in Hugging Face's order: top-k (0 = off), top-p (1 = off), min-p
 * (0 = off, keeps tokens at least {@code minP} times as likely as the most likely one), then a token is drawn with
 * noise that depends only on {@code seed}, the number of tokens the sequence sampled before and the token, so a run is
 * reproducible on any node and backend (the engine's {@code Sampler} gives the exact rule).
 */
public record SamplingParams(double temperature, int topK, double topP, double minP, long seed) {

    public SamplingParams {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be >= 0 (0 turns it off), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new IllegalArgumentException("min-p must be in [0, 1], got " + minP);
        }
    }

    public static SamplingParams greedy() {
        return new SamplingParams(0, 0, 1, 0, 0);
    }

    public boolean isGreedy() {
        return temperature == 0 || topK == 1;
    }
}
