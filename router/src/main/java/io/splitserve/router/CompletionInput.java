package io.splitserve.router;

import io.splitserve.tokenizer.ChatMessage;
import java.util.List;

/**
 * A request as a client wrote it, before validation: either a text prompt or chat messages, and the sampling and
 * stopping settings, any of which may be absent (null) to take the default. Both front doors (Aeron and HTTP)
 * reduce their input to this, so both get the same checks and the same error messages.
 */
public record CompletionInput(
        String model,
        String prompt,
        List<ChatMessage> messages,
        Integer maxTokens,
        Double temperature,
        Double topP,
        Integer topK,
        Long seed,
        List<String> stop,
        boolean ignoreEos) {
}
