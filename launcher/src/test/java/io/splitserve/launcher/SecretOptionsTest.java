package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Where the shared secret comes from (a file, else the environment; never the command line) and what running without
 * one allows: the default UDP endpoints of router and nodes are loopback, an endpoint elsewhere is refused unless
 * --insecure, and a secret too short to be one is refused.
 */
class SecretOptionsTest {
    @TempDir
    Path dir;

    @Test
    void theDefaultEndpointsAreLoopback() {
        assertTrue(SecretOptions.isLoopbackOnly(RouterCommand.ROUTER_UDP));
        final DecodeCommand decode = new DecodeCommand();
        new CommandLine(decode).parseArgs();
        assertEquals("127.0.0.1", decode.host, "decode nodes bind their UDP channels to loopback by default");
        final RouterCommand router = new RouterCommand();
        new CommandLine(router).parseArgs();
        assertTrue(SecretOptions.isLoopbackOnly(router.routerOptions.ingressChannel));
        assertEquals("127.0.0.1", router.routerOptions.host, "HTTP listens on loopback by default");
        assertTrue(SecretOptions.isLoopbackOnly("aeron:udp?endpoint=localhost:40100"));
        assertTrue(SecretOptions.isLoopbackOnly("aeron:udp?endpoint=127.0.0.1:0|control=127.0.0.1:44101"));
        assertTrue(SecretOptions.isLoopbackOnly("aeron:ipc"));
    }

    @Test
    void withoutASecretAnEndpointOffLoopbackIsRefusedUnlessInsecure() {
        final SecretOptions options = new SecretOptions();
        assertFalse(SecretOptions.isLoopbackOnly("aeron:udp?endpoint=10.1.2.3:43101"));
        assertFalse(SecretOptions.isLoopbackOnly("aeron:udp?endpoint=127.0.0.1:0|control=10.1.2.3:44101"));
        assertFalse(SecretOptions.isLoopbackOnly("aeron:udp?endpoint=0.0.0.0:43101"), "every interface");
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> options.checkEndpoints(
                null, "decode-101", RouterCommand.ROUTER_UDP, "aeron:udp?endpoint=10.1.2.3:43101"));
        assertTrue(e.getMessage().contains("10.1.2.3") && e.getMessage().contains("--insecure"), e.getMessage());
        assertTrue(options.checkEndpoints(null, "decode-101", RouterCommand.ROUTER_UDP).contains("no shared secret"));
        assertNull(options.checkEndpoints(new byte[16], "decode-101", "aeron:udp?endpoint=10.1.2.3:43101"));
        options.insecure = true;
        assertTrue(options.checkEndpoints(null, "decode-101", "aeron:udp?endpoint=10.1.2.3:43101")
                .contains("--insecure"));
    }

    @Test
    void theSecretComesFromTheFileElseTheEnvironment() throws Exception {
        final SecretOptions options = new SecretOptions();
        assertNull(options.secret(Map.of()));
        final Map<String, String> env = Map.of(SecretOptions.ENVIRONMENT_VARIABLE, "from-the-environment-123\n");
        assertArrayEquals("from-the-environment-123".getBytes(StandardCharsets.UTF_8), options.secret(env));
        options.secretFile = Files.writeString(dir.resolve("secret"), "from-a-file-0123456789\r\n");
        assertArrayEquals("from-a-file-0123456789".getBytes(StandardCharsets.UTF_8), options.secret(env),
                "the file wins");
        Files.writeString(options.secretFile, "short\n");
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> options.secret(env));
        assertTrue(e.getMessage().contains("5 bytes") && e.getMessage().contains("at least 16"), e.getMessage());
    }

    @Test
    void theSecretIsNeverACommandLineValue() {
        final CommandLine router = new CommandLine(new RouterCommand());
        assertThrows(CommandLine.UnmatchedArgumentException.class, () -> router.parseArgs("--secret", "x"));
    }
}
