package io.splitserve.tokenizer;

/**
 * A tokenizer file, chat template or argument that cannot be used. The message is one line meant for the user
 * (which file, which field, what was wrong); callers print it as is instead of a stack trace.
 */
public final class TokenizerException extends Exception {
    private static final long serialVersionUID = 1L;

    public TokenizerException(String message) {
        super(message);
    }
}
