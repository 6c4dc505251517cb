package io.splitserve.launcher;

/** Entry point of the {@code splitserve} command line. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.err.println("usage: splitserve generate [options]");
        System.exit(2);
    }
}
