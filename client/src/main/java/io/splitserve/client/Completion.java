package io.splitserve.client;

import io.splitserve.sbe.FinishReason;

/** A finished request: the generated text and token ids, why it ended, and token counts for usage. */
public record Completion(String text, int[] tokenIds, FinishReason finishReason, int promptTokens) {
    public int completionTokens() {
        return tokenIds.length;
    }
}
