package io.splitserve.model;

/**
 * How one sequence picks its next token, with vLLM's semantics and in vLLM's order:
 * <ol>
 *   <li>{@code logitBias} is added to the logits of its tokens ({@link LogitBias}, OpenAI's {@code logit_bias});</li>
 *   <li>penalties: {@code repetitionPenalty} (1 = off, > 0) divides a positive logit and multiplies a negative one of
 *   every token that occurs in the prompt or in the output so far; then {@code frequencyPenalty} and
 *   {@code presencePenalty} (0 = off, each in [-2, 2]) subtract {@code frequency * count + presence} from the logit of
 *   every token that occurs {@code count > 0} times in the output so far (the prompt does not count);</li>
 *   <li>temperature and the filters: temperature 0 is greedy (argmax of the processed logits, the seed unused);
 *   otherwise the logits are divided by the temperature and filtered in Hugging Face's order: top-k (0 = off), top-p
 *   (1 = off), min-p (0 = off, keeps tokens at least {@code minP} times as likely as the most likely one), then a
 *   token is drawn with noise that depends only on {@code seed}, the number of tokens the sequence sampled before and
 *   the token, so a run is reproducible on any node and backend (the engine's {@code Sampler} gives the exact
 *   rule).</li>
 * </ol>
 * {@code logprobs} (0 = off, 1..20) asks for the log-probability of the chosen token and the {@code logprobs} most
 * likely tokens of the row, computed from the model's raw logits (before bias, penalties and temperature), as vLLM
 * reports them by default.
 *
 * <p>Callers that need none of the additions keep {@code new SamplingParams(temperature, topK, topP, minP, seed)} and
 * {@link #greedy()}; the others add them with {@link #withPenalties}, {@link #withLogitBias} and
 * {@link #withLogprobs}. Every component is checked here, except that the bias's token ids can only be checked
 * against a vocabulary ({@link #checkVocabulary(int)}, which the engine calls).
 */
public record SamplingParams(double temperature, int topK, double topP, double minP, long seed,
                             double repetitionPenalty, double frequencyPenalty, double presencePenalty,
                             LogitBias logitBias, int logprobs) {
    /** The most top tokens a request may ask log-probabilities for, as OpenAI allows. */
    public static final int MAX_LOGPROBS = 20;
    /** The largest frequency or presence penalty either way, as OpenAI allows. */
    public static final double MAX_PENALTY = 2;

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
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new IllegalArgumentException("repetition penalty must be a finite number > 0 (1 turns it off), got "
                    + repetitionPenalty);
        }
        if (!(frequencyPenalty >= -MAX_PENALTY && frequencyPenalty <= MAX_PENALTY)) {
            throw new IllegalArgumentException("frequency penalty must be in [-2, 2] (0 turns it off), got "
                    + frequencyPenalty);
        }
        if (!(presencePenalty >= -MAX_PENALTY && presencePenalty <= MAX_PENALTY)) {
            throw new IllegalArgumentException("presence penalty must be in [-2, 2] (0 turns it off), got "
                    + presencePenalty);
        }
        if (logprobs < 0 || logprobs > MAX_LOGPROBS) {
            throw new IllegalArgumentException("logprobs must be in [0, 20] (0 turns it off), got " + logprobs);
        }
        if (logitBias == null) {
            logitBias = LogitBias.NONE;
        }
    }

    /** Temperature, the filters and the seed; no bias, no penalties, no logprobs. */
    public SamplingParams(double temperature, int topK, double topP, double minP, long seed) {
        this(temperature, topK, topP, minP, seed, 1, 0, 0, LogitBias.NONE, 0);
    }

    public static SamplingParams greedy() {
        return new SamplingParams(0, 0, 1, 0, 0);
    }

    /** These parameters with the given penalties (repetition 1 and frequency and presence 0 turn each off). */
    public SamplingParams withPenalties(double repetition, double frequency, double presence) {
        return new SamplingParams(temperature, topK, topP, minP, seed, repetition, frequency, presence, logitBias,
                logprobs);
    }

    /** These parameters with {@code bias} added to the logits. */
    public SamplingParams withLogitBias(LogitBias bias) {
        return new SamplingParams(temperature, topK, topP, minP, seed, repetitionPenalty, frequencyPenalty,
                presencePenalty, bias, logprobs);
    }

    /** These parameters asking for the chosen token's log-probability and the top {@code n} (0 = off). */
    public SamplingParams withLogprobs(int n) {
        return new SamplingParams(temperature, topK, topP, minP, seed, repetitionPenalty, frequencyPenalty,
                presencePenalty, logitBias, n);
    }

    public boolean isGreedy() {
        return temperature == 0 || topK == 1;
    }

    /** Whether any penalty is on: the sampler then needs the sequence's token history. */
    public boolean hasPenalties() {
        return repetitionPenalty != 1 || frequencyPenalty != 0 || presencePenalty != 0;
    }

    /** Whether the logits are changed before temperature and the filters: a penalty or a bias is on. */
    public boolean processesLogits() {
        return hasPenalties() || !logitBias.isEmpty();
    }

    /** Refuses (IllegalArgumentException naming the id) a logit bias token outside a vocabulary of {@code vocab}. */
    public void checkVocabulary(int vocab) {
        if (logitBias.maxToken() >= vocab) {
            throw new IllegalArgumentException("logit bias token id " + logitBias.maxToken()
                    + " is outside the vocabulary of " + vocab);
        }
    }
}
