package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host identity is stable, equal in another process of this machine, and falls back to the host name. */
class HostIdentityTest {
    @Test
    void isNonEmptyAndStableAcrossCalls() {
        String identity = HostIdentity.current();
        assertTrue(identity.startsWith("boot:") || identity.startsWith("host:"), identity);
        assertTrue(identity.length() > "boot:".length(), identity);
        assertEquals(identity, HostIdentity.current());
    }

    @Test
    void isTheKernelsBootIdWhereLinuxHasOne() throws IOException {
        if (Files.isReadable(HostIdentity.BOOT_ID)) {
            assertEquals("boot:" + Files.readString(HostIdentity.BOOT_ID).trim(), HostIdentity.current());
        }
    }

    @Test
    void fallsBackToTheHostNameWithoutABootId(@TempDir Path dir) throws IOException {
        String fallback = HostIdentity.of(dir.resolve("missing"));
        assertTrue(fallback.startsWith("host:") && fallback.length() > "host:".length(), fallback);
        Path blank = Files.writeString(dir.resolve("blank"), "  \n");
        assertEquals(fallback, HostIdentity.of(blank));
        Path bootId = Files.writeString(dir.resolve("boot_id"), "0f1e2d3c-aaaa-bbbb-cccc-000011112222\n");
        assertEquals("boot:0f1e2d3c-aaaa-bbbb-cccc-000011112222", HostIdentity.of(bootId));
    }

    @Test
    void anotherProcessOfThisMachineGetsTheSameIdentity() throws Exception {
        Process child = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                System.getProperty("java.class.path"), Child.class.getName()).redirectErrorStream(true).start();
        try {
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish within 60 s");
            String printed = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertEquals(0, child.exitValue(), printed);
            assertFalse(printed.isEmpty());
            assertEquals(HostIdentity.current(), printed);
        } finally {
            child.destroyForcibly();
        }
    }

    /** The other process: prints its host identity. */
    static final class Child {
        public static void main(String[] args) {
            System.out.println(HostIdentity.current());
        }
    }
}
