package io.splitserve.model;

/**
 * A model directory that cannot be served: missing or corrupt files, an unsupported architecture or dtype, or
 * tensors whose names or shapes do not fit the configuration. The message is one line meant for the user; it names
 * the file and what is wrong with it.
 */
public final class ModelLoadException extends Exception {
    private static final long serialVersionUID = 1L;

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
