package io.splitserve.launcher;

import io.splitserve.sbe.HelloProof;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Option;

/**
 * The deployment's shared secret for a standalone role (router, prefill, decode; a picocli mixin): read from the file
 * {@code --secret-file} names or from the environment variable {@value #ENVIRONMENT_VARIABLE}, never from the command
 * line (which other users of the host can read). Without one every endpoint must bind to loopback (127.0.0.0/8, ::1)
 * or IPC, unless {@code --insecure} says the operator accepts anyone who can reach it; a UDP endpoint elsewhere is
 * refused with a line naming it. A file's or variable's trailing line break is not part of the secret; a secret
 * shorter than {@link HelloProof#MIN_SECRET_BYTES} bytes is refused.
 */
final class SecretOptions {
    static final String ENVIRONMENT_VARIABLE = "SPLITSERVE_SECRET";
    private static final Pattern ADDRESSES = Pattern.compile("(?:endpoint|control)=([^|:]+|\\[[^\\]]+\\])");

    @Option(names = "--secret-file", paramLabel = "PATH",
        description = "File holding the shared secret (at least 16 bytes) that nodes and clients prove to the router;"
            + " else the environment variable " + ENVIRONMENT_VARIABLE + "; without either, endpoints must be loopback"
            + " unless --insecure.")
    Path secretFile;

    @Option(names = "--insecure",
        description = "Allow UDP endpoints off loopback without a shared secret: anyone who reaches them is believed.")
    boolean insecure;

    /** The secret from the file, else the environment, else null. */
    byte[] secret(Map<String, String> environment) {
        final byte[] raw;
        final String source;
        if (secretFile != null) {
            try {
                raw = Files.readAllBytes(secretFile);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            source = "--secret-file " + secretFile;
        } else if (environment.get(ENVIRONMENT_VARIABLE) != null) {
            raw = environment.get(ENVIRONMENT_VARIABLE).getBytes(StandardCharsets.UTF_8);
            source = ENVIRONMENT_VARIABLE;
        } else {
            return null;
        }
        int end = raw.length;
        while (end > 0 && (raw[end - 1] == '\n' || raw[end - 1] == '\r')) {
            end--;
        }
        if (end < HelloProof.MIN_SECRET_BYTES) {
            throw new IllegalArgumentException("the shared secret from " + source + " holds " + end + " bytes; it needs"
                    + " at least " + HelloProof.MIN_SECRET_BYTES);
        }
        return Arrays.copyOf(raw, end);
    }

    /**
     * Refuses, without a secret and without {@code --insecure}, any of {@code channels} that binds or sends off this
     * host's loopback; returns a line to log once when running without a secret (null with one).
     */
    String checkEndpoints(byte[] secret, String role, String... channels) {
        if (secret != null) {
            return null;
        }
        if (!insecure) {
            for (String channel : channels) {
                if (channel != null && !isLoopbackOnly(channel)) {
                    throw new IllegalArgumentException(role + ": channel " + channel + " reaches beyond loopback; give"
                            + " a shared secret (--secret-file or " + ENVIRONMENT_VARIABLE + ") or --insecure");
                }
            }
        }
        return role + ": no shared secret configured; " + (insecure
                ? "--insecure: anyone who reaches this process's endpoints is believed"
                : "endpoints are loopback only, and anyone on this host is believed");
    }

    /** Whether every address a channel names (endpoint, control) is a loopback address; IPC always is. */
    static boolean isLoopbackOnly(String channel) {
        if (!channel.startsWith("aeron:udp")) {
            return true;
        }
        final Matcher m = ADDRESSES.matcher(channel);
        boolean named = false;
        while (m.find()) {
            named = true;
            String host = m.group(1);
            if (host.startsWith("[")) {
                host = host.substring(1, host.length() - 1);
            }
            try {
                if (!InetAddress.getByName(host).isLoopbackAddress()) {
                    return false;
                }
            } catch (UnknownHostException e) {
                return false;
            }
        }
        return named; // a UDP channel naming no address binds to every interface
    }
}
