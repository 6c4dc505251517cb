package io.splitserve.perf.load;

/**
 * One request a load run sends: its prompt text, the number of tokens that prompt encodes to (special tokens
 * included, as the router counts them), and the exact number of tokens to generate (sent with ignore-EOS, so every
 * request of a workload produces the length the workload chose).
 */
public record RequestSpec(String prompt, int promptTokens, int outputTokens) {
    public RequestSpec {
        if (prompt == null || prompt.isEmpty() || promptTokens <= 0 || outputTokens <= 0) {
            throw new IllegalArgumentException("a request needs a prompt and positive token counts");
        }
    }
}
