package io.splitserve.engine;

import java.util.Locale;

/**
 * Where an {@link Engine} runs the forward pass: the CPU reference ops, the CUDA kernels, or CUDA when a GPU and
 * the built kernels are present and the CPU otherwise.
 */
public enum Backend {
    CPU,
    CUDA,
    AUTO;

    /** Parses {@code cpu}, {@code cuda} or {@code auto} (any case), or throws naming the accepted values. */
    public static Backend parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("unknown backend '" + name + "': expected cpu, cuda or auto");
        }
    }

    public String displayName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
