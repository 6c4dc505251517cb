package io.splitserve.engine;

/**
 * Receives the first sampled token of every prompt of an {@link Engine#prefill} batch (in prompt order) as soon as the
 * logits exist, possibly before every layer's KV reached the KV listener: what lets a prefill node hand the first token
 * to its router while the KV still streams. Called exactly once per batch, on the engine's thread; the array is the
 * one the prefill returns.
 */
@FunctionalInterface
public interface FirstTokenListener {
    FirstTokenListener NONE = tokens -> { };

    void onFirstTokens(int[] tokens);
}
