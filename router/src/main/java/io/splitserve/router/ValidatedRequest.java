package io.splitserve.router;

import java.util.List;

/**
 * A request the router accepted: the prompt as token ids (chat template applied), bounded settings and the stopping
 * rules, ready to schedule. {@code topK} 0 and {@code topP} 1 mean off; temperature 0 is greedy.
 */
public record ValidatedRequest(
        int[] promptTokens,
        int maxNewTokens,
        float temperature,
        float topP,
        int topK,
        long seed,
        List<String> stopStrings,
        int[] stopTokenIds) {
}
