package io.splitserve.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitserve.engine.weights.SafetensorsFile;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/**
 * One committed Hugging Face fixture (see src/test/python/make_model_fixtures.py): the model directory, its
 * prompts as token ids, HF's logits at every prompt position and HF's greedy 32-token continuations.
 */
final class GoldenFixture {
    final String name;
    final Path dir;
    final int[][] prompts;
    final int[][] greedy;
    final float[][][] logits;
    final float[] invFreq;

    GoldenFixture(String name) throws Exception {
        this(name, resource("/fixtures/" + name));
    }

    GoldenFixture(String name, Path dir) throws Exception {
        this.name = name;
        this.dir = dir;
        final JsonNode expected = new ObjectMapper().readTree(dir.resolve("expected.json").toFile());
        prompts = intRows(expected.get("prompts"));
        greedy = intRows(expected.get("greedy"));
        logits = new float[prompts.length][][];
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve("expected.safetensors"))) {
            for (int i = 0; i < prompts.length; i++) {
                final float[] flat = file.readFloats(file.tensors().get("logits." + i));
                final int vocab = flat.length / prompts[i].length;
                logits[i] = new float[prompts[i].length][vocab];
                for (int t = 0; t < prompts[i].length; t++) {
                    System.arraycopy(flat, t * vocab, logits[i][t], 0, vocab);
                }
            }
            invFreq = file.readFloats(file.tensors().get("inv_freq"));
        }
    }

    static Path resource(String name) throws URISyntaxException {
        final URL url = GoldenFixture.class.getResource(name);
        if (url == null) {
            throw new IllegalStateException("test resource " + name + " is missing");
        }
        return Path.of(url.toURI());
    }

    private static int[][] intRows(JsonNode rows) {
        final int[][] out = new int[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            final JsonNode row = rows.get(i);
            out[i] = new int[row.size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = row.get(j).asInt();
            }
        }
        return out;
    }
}
