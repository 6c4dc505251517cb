package io.splitserve.launcher;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/**
 * Which media driver a standalone role uses (a picocli mixin shared by router, prefill and decode): its own embedded
 * one (the default, optionally in a named directory) or a running {@code splitserve driver} it joins. The two are
 * mutually exclusive. Joining changes the default of every channel to {@code aeron:ipc}, so processes on one host
 * exchange requests, tokens and KV through shared memory; an explicit channel still wins (UDP to another host).
 */
final class MediaDriverOptions {
    static final String IPC = "aeron:ipc";

    /** The one-host shared-memory setup, for the commands' --help. */
    static final String ONE_HOST_EXAMPLE = "%nOne host, separate processes over shared memory (Aeron IPC):%n"
            + "  splitserve driver --aeron-dir /dev/shm/ss &%n"
            + "  splitserve router --join-driver /dev/shm/ss &%n"
            + "  splitserve prefill --join-driver /dev/shm/ss --backend cuda --gpu 0 &%n"
            + "  splitserve decode --join-driver /dev/shm/ss --backend cuda --gpu 1 &%n"
            + "Clients connect to /dev/shm/ss too.";

    static final class Choice {
        @Option(names = "--aeron-dir", paramLabel = "DIR",
            description = "Directory of this process's embedded media driver (default: a fresh one under the temp"
                + " dir). Aeron IPC clients on this host may connect to it.")
        String ownDir;

        @Option(names = "--join-driver", paramLabel = "DIR",
            description = "Use the media driver of a running `splitserve driver --aeron-dir DIR` instead of embedding"
                + " one; every channel then defaults to aeron:ipc.")
        String joinDir;
    }

    @ArgGroup(exclusive = true)
    Choice choice;

    boolean joins() {
        return choice != null && choice.joinDir != null;
    }

    /** The directory of the driver to join; only when {@link #joins()}. */
    String joinDir() {
        return choice.joinDir;
    }

    /** The embedded driver's directory, or null for a fresh one. */
    String ownDir() {
        return choice == null ? null : choice.ownDir;
    }

    /** The channel to use where none was given: IPC on a joined driver, else {@code ownDriverDefault}. */
    String channel(String given, String ownDriverDefault) {
        return given != null ? given : joins() ? IPC : ownDriverDefault;
    }

    static boolean isIpc(String channel) {
        return channel.startsWith(IPC);
    }
}
