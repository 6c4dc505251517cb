package io.splitserve.kernels.cuda;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Names the running boot of this machine, so two processes can tell whether they share a host (and so may use CUDA
 * IPC or peer copies) by comparing strings. On Linux it is the kernel's boot id ({@code
 * /proc/sys/kernel/random/boot_id}): equal for every process of one boot, containers included, and new at each
 * boot, so it also never matches a handle of a previous boot. Where that file is absent it falls back to the host
 * name, which is equal on one machine but may collide across machines given the same name. The two kinds carry
 * different prefixes, so they never compare equal to each other.
 */
public final class HostIdentity {
    static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

    private HostIdentity() {
    }

    /** This machine's identity: {@code boot:<boot id>} or, without one, {@code host:<host name>}. */
    public static String current() {
        return of(BOOT_ID);
    }

    /** The identity read from {@code bootIdFile}, falling back to the host name when it is missing or empty. */
    static String of(Path bootIdFile) {
        try {
            String bootId = Files.readString(bootIdFile, StandardCharsets.US_ASCII).trim();
            if (!bootId.isEmpty()) {
                return "boot:" + bootId;
            }
        } catch (IOException e) {
            // no boot id on this system: the host name below is the fallback
        }
        return "host:" + hostName();
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            String env = System.getenv("HOSTNAME");
            if (env != null && !env.isBlank()) {
                return env.trim();
            }
            throw new IllegalStateException("this machine has neither a boot id nor a resolvable host name", e);
        }
    }
}
