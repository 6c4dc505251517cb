package io.splitserve.launcher;

/**
 * The media driver a role runs on is not there: none runs in the directory it was told to join, or the one it
 * used stopped answering. The operator's to fix (start or restart the driver), so it is reported in one line.
 */
final class DriverUnavailableException extends RuntimeException {
    DriverUnavailableException(String message) {
        super(message);
    }
}
