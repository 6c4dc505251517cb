package io.splitserve.engine.generate;

import io.splitserve.model.SamplingParams;

import java.util.List;

/**
 * One generation: the prompt as token ids, how to sample, and when to stop.
 *
 * @param promptTokens  the prompt, already tokenized (and chat-templated if wanted)
 * @param sampling      sampling parameters (temperature 0 means greedy)
 * @param maxTokens     the most tokens to generate (at least 1)
 * @param stopStrings   text that ends the generation; it is not part of the returned text
 * @param stopTokenIds  token ids that end the generation (usually the model's eos ids); the token is kept in the
 *                      generated ids but not rendered into text
 */
public record GenerationRequest(
    int[] promptTokens, SamplingParams sampling, int maxTokens, List<String> stopStrings, int[] stopTokenIds) {

    public GenerationRequest {
        if (promptTokens == null || promptTokens.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, got " + maxTokens);
        }
        promptTokens = promptTokens.clone();
        stopStrings = List.copyOf(stopStrings);
        stopTokenIds = stopTokenIds.clone();
    }
}
