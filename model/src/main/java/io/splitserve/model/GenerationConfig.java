package io.splitserve.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The model's own generation defaults from {@code generation_config.json}: stop token ids and the sampling
 * parameters the checkpoint recommends. A missing file gives the defaults of the format (greedy unless
 * {@code do_sample}, temperature 1, top-k 50, top-p 1, min-p 0) with no extra stop ids.
 *
 * @param eosTokenIds {@code eos_token_id} as an int or a list; possibly empty
 * @param doSample    whether the checkpoint asks for sampling rather than greedy decoding
 */
public record GenerationConfig(int[] eosTokenIds, int bosTokenId, boolean doSample, double temperature, int topK,
                               double topP, double minP) {

    public static final String FILE = "generation_config.json";

    public static GenerationConfig defaults() {
        return new GenerationConfig(new int[0], -1, false, 1.0, 50, 1.0, 0.0);
    }

    public static GenerationConfig load(Path modelDir) throws ModelLoadException {
        final Path file = modelDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return defaults();
        }
        try {
            return parse(Files.readString(file), file.toString());
        } catch (IOException e) {
            throw new ModelLoadException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    public static GenerationConfig parse(String json, String source) throws ModelLoadException {
        final JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new ModelLoadException(source + ": not valid JSON");
        }
        if (root == null || !root.isObject()) {
            throw new ModelLoadException(source + ": not a JSON object");
        }
        final GenerationConfig d = defaults();
        return new GenerationConfig(ModelConfig.tokenIds(root.get("eos_token_id")),
                root.path("bos_token_id").isIntegralNumber() ? root.get("bos_token_id").asInt() : -1,
                root.path("do_sample").asBoolean(d.doSample()),
                number(root, "temperature", d.temperature()),
                (int) number(root, "top_k", d.topK()),
                number(root, "top_p", d.topP()),
                number(root, "min_p", d.minP()));
    }

    /**
     * The checkpoint's recommended sampling as engine parameters: greedy unless it sets {@code do_sample}, otherwise
     * its temperature, top-k, top-p and min-p with the given seed.
     */
    public SamplingParams samplingParams(long seed) {
        if (!doSample) {
            return SamplingParams.greedy();
        }
        return new SamplingParams(temperature, topK, topP, minP, seed);
    }

    /** A copy: the record stays immutable. */
    @Override
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    private static double number(JsonNode root, String key, double fallback) {
        final JsonNode node = root.get(key);
        return node != null && node.isNumber() ? node.asDouble() : fallback;
    }
}
