package io.splitserve.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A 64-bit identity of a model checkpoint, the same on every node that loads the same files: a hash of
 * {@code config.json} and of each safetensors file's name, size and header (which holds every tensor's name, shape,
 * dtype and offset). Nodes exchanging KV refuse each other's KV unless their fingerprints match; it guards against
 * mixing different models or shapes, not against two weight files with identical headers.
 */
public final class ModelFingerprint {
    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private ModelFingerprint() {}

    public static long of(Path modelDir) throws ModelLoadException {
        try {
            long hash = mix(FNV_OFFSET, Files.readAllBytes(modelDir.resolve("config.json")));
            final List<Path> weights;
            try (Stream<Path> files = Files.list(modelDir)) {
                weights = files.filter(f -> f.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            }
            for (Path file : weights) {
                hash = mix(hash, file.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                hash = mix(hash, Long.toString(Files.size(file)).getBytes(StandardCharsets.UTF_8));
                try (InputStream in = Files.newInputStream(file)) {
                    hash = mix(hash, in.readNBytes(64 * 1024));
                }
            }
            return hash;
        } catch (IOException e) {
            throw new ModelLoadException(modelDir + ": cannot read the model files for its fingerprint: " + e.getMessage());
        }
    }

    private static long mix(long hash, byte[] bytes) {
        long h = hash;
        for (byte b : bytes) {
            h = (h ^ (b & 0xff)) * FNV_PRIME;
        }
        return h;
    }
}
