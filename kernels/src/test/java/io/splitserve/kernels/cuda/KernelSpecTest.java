package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * Kernel parameters are untyped at launch, so a launcher whose signature drifts from its kernel would pass
 * garbage. This test (no GPU needed) parses every extern "C" kernel in src/main/cuda and checks that
 * {@link KernelSpec} lists exactly those kernels with exactly their parameter kinds.
 */
class KernelSpecTest {
    private static final Pattern KERNEL = Pattern.compile(
            "extern \"C\" __global__ void\\s+(?:__launch_bounds__\\([^)]*\\)\\s*)?(\\w+)\\s*\\(([^)]*)\\)");

    @Test
    void launcherSignaturesMatchTheCudaSources() throws IOException {
        Map<String, String> fromSources = new TreeMap<>();
        try (Stream<Path> files = Files.list(Path.of("src/main/cuda"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cu")).collect(Collectors.toList())) {
                Matcher m = KERNEL.matcher(Files.readString(f));
                while (m.find()) {
                    fromSources.put(m.group(1), signatureOf(m.group(2)));
                }
            }
        }
        Map<String, String> fromSpecs = new TreeMap<>();
        for (KernelSpec spec : KernelSpec.values()) {
            fromSpecs.put(spec.function, spec.signature);
        }
        assertEquals(fromSources, fromSpecs);
    }

    private static String signatureOf(String parameters) {
        StringBuilder sb = new StringBuilder();
        for (String p : parameters.split(",")) {
            String t = p.trim();
            if (t.contains("*")) {
                sb.append('p');
            } else if (t.startsWith("int") || t.startsWith("unsigned int")) {
                sb.append('i');
            } else if (t.startsWith("float")) {
                sb.append('f');
            } else {
                throw new IllegalStateException("unhandled kernel parameter type: " + t);
            }
        }
        return sb.toString();
    }
}
