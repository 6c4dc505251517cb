package io.splitserve.launcher;

import io.splitserve.model.ModelLoadException;
import io.splitserve.tokenizer.TokenizerException;

import java.io.UncheckedIOException;
import java.net.BindException;
import java.nio.file.NoSuchFileException;

/** Decides which failures are the user's (reported in one line) and which are bugs (reported with a trace). */
final class UserErrors {
    private UserErrors() {}

    static boolean isUserError(Throwable t) {
        return t instanceof ModelLoadException
            || t instanceof TokenizerException
            || t instanceof IllegalArgumentException
            || t instanceof NoSuchFileException
            || t instanceof BindException
            || t instanceof DriverUnavailableException
            || (t instanceof UncheckedIOException u && u.getCause() instanceof NoSuchFileException);
    }

    static String message(Throwable t) {
        if (t instanceof BindException e) {
            return "cannot listen on the HTTP port (" + e.getMessage() + "); choose another with --port";
        }
        if (t instanceof NoSuchFileException e) {
            return "no such file: " + e.getFile();
        }
        if (t instanceof UncheckedIOException u && u.getCause() instanceof NoSuchFileException e) {
            return "no such file: " + e.getFile();
        }
        String message = t.getMessage();
        return message == null ? t.getClass().getSimpleName() : message.replace('\n', ' ');
    }
}
