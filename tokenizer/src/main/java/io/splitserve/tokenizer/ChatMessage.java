package io.splitserve.tokenizer;

/** One turn of a conversation as chat templates see it: {@code message.role} and {@code message.content}. */
public record ChatMessage(String role, String content) {
}
