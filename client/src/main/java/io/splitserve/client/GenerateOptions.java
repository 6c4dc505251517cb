package io.splitserve.client;

import java.util.List;

/**
 * One generation request: a text prompt (or, with {@code chat}, a JSON array of {role, content} messages the router
 * renders through the model's chat template) and its settings. Temperature 0 is greedy; top-k 0 and top-p 1 are off.
 * An empty model name means the router's model.
 */
public record GenerateOptions(String model, String prompt, boolean chat, int maxTokens, float temperature, float topP,
                              int topK, long seed, List<String> stop, boolean ignoreEos) {

    public GenerateOptions {
        model = model == null ? "" : model;
        stop = stop == null ? List.of() : List.copyOf(stop);
    }

    /** Greedy decoding of {@code prompt} for at most {@code maxTokens} tokens with the router's model. */
    public static GenerateOptions greedy(String prompt, int maxTokens) {
        return new GenerateOptions("", prompt, false, maxTokens, 0f, 1f, 0, 0, List.of(), false);
    }
}
