package io.splitserve.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shape of a transformer as read from a Hugging Face {@code config.json}: everything the weights loader and the
 * forward pass need, already validated (supported architecture and activation, heads divisible into KV groups, an
 * even head dimension, a known rope type). Both rope layouts are understood: the classic {@code rope_theta} +
 * {@code rope_scaling} and the {@code rope_parameters} object that newer transformers versions write.
 *
 * @param headDim            explicit {@code head_dim} when present (Qwen3), else {@code hidden_size / heads}
 * @param ropeScaling        llama3 or yarn scaling, or null for plain RoPE
 * @param qkvBias            q/k/v projections carry a bias (Qwen2, or Llama with {@code attention_bias})
 * @param outputBias         the attention output projection carries a bias (Llama with {@code attention_bias})
 * @param qkNorm             per-head RMSNorm on q and k (Qwen3)
 * @param bosTokenId         or -1 when the config names none
 * @param eosTokenIds        possibly empty
 * @param dtype              the checkpoint's declared dtype (informational), or "unknown"
 */
public record ModelConfig(Architecture architecture, int vocabSize, int hiddenSize, int intermediateSize,
                          int numLayers, int numHeads, int numKvHeads, int headDim, float rmsNormEps,
                          double ropeTheta, RopeScaling ropeScaling, int maxPositionEmbeddings,
                          boolean tieWordEmbeddings, boolean qkvBias, boolean outputBias, boolean qkNorm,
                          int bosTokenId, int[] eosTokenIds, String dtype) {

    public static final String FILE = "config.json";

    public static ModelConfig load(Path modelDir) throws ModelLoadException {
        final Path file = modelDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException(modelDir + ": missing " + FILE + " (is this a Hugging Face model directory?)");
        }
        try {
            return parse(Files.readString(file), file.toString());
        } catch (IOException e) {
            throw new ModelLoadException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Parses config.json text; {@code source} names it in error messages. */
    public static ModelConfig parse(String json, String source) throws ModelLoadException {
        final JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new ModelLoadException(source + ": not valid JSON");
        }
        if (root == null || !root.isObject()) {
            throw new ModelLoadException(source + ": not a JSON object");
        }
        final JsonNode architectures = root.get("architectures");
        if (architectures == null || !architectures.isArray() || architectures.isEmpty()) {
            throw new ModelLoadException(source + ": no 'architectures' entry");
        }
        final String archName = architectures.get(0).asText();
        final Architecture arch = Architecture.fromHfName(archName);
        if (arch == null) {
            throw new ModelLoadException(source + ": unsupported architecture '" + archName + "' (supported: "
                    + Architecture.supportedNames() + ")");
        }
        final String act = text(root, "hidden_act", "silu");
        if (!act.equals("silu")) {
            throw new ModelLoadException(source + ": unsupported hidden_act '" + act + "' (only silu)");
        }
        if (root.path("mlp_bias").asBoolean(false)) {
            throw new ModelLoadException(source + ": unsupported mlp_bias true");
        }
        if (root.path("use_sliding_window").asBoolean(false)) {
            throw new ModelLoadException(source + ": unsupported use_sliding_window true (sliding-window attention)");
        }
        final int hidden = positiveInt(root, "hidden_size", source);
        final int maxPositions = root.hasNonNull("max_position_embeddings")
                ? positiveInt(root, "max_position_embeddings", source) : 2048;
        final int heads = positiveInt(root, "num_attention_heads", source);
        final int kvHeads = root.hasNonNull("num_key_value_heads") ? positiveInt(root, "num_key_value_heads", source)
                : heads;
        final int headDim = root.hasNonNull("head_dim") ? positiveInt(root, "head_dim", source) : hidden / heads;
        if (heads % kvHeads != 0) {
            throw new ModelLoadException(source + ": num_attention_heads " + heads
                    + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        if (headDim % 2 != 0 || (!root.hasNonNull("head_dim") && hidden % heads != 0)) {
            throw new ModelLoadException(source + ": head dimension must be even and divide hidden_size (got "
                    + headDim + ")");
        }
        final boolean attentionBias = root.path("attention_bias").asBoolean(false);
        final boolean llama = arch == Architecture.LLAMA;
        return new ModelConfig(arch,
                positiveInt(root, "vocab_size", source),
                hidden,
                positiveInt(root, "intermediate_size", source),
                positiveInt(root, "num_hidden_layers", source),
                heads, kvHeads, headDim,
                (float) root.path("rms_norm_eps").asDouble(1e-6),
                ropeTheta(root),
                ropeScaling(root, maxPositions, source),
                maxPositions,
                root.path("tie_word_embeddings").asBoolean(false),
                arch.qkvBias() || (llama && attentionBias),
                llama && attentionBias,
                arch.qkNorm(),
                root.path("bos_token_id").isIntegralNumber() ? root.get("bos_token_id").asInt() : -1,
                tokenIds(root.get("eos_token_id")),
                text(root, "torch_dtype", text(root, "dtype", "unknown")));
    }

    /** The RoPE inverse-frequency table for this model, scaling applied. */
    public float[] ropeInvFreq() {
        return ropeScaling == null ? RopeFrequencies.standard(headDim, ropeTheta)
                : ropeScaling.invFreq(headDim, ropeTheta);
    }

    /**
     * The softmax scale on q·k: {@code m² / sqrt(headDim)}, with {@code m} the rope scaling's attention factor (1
     * without one, so plain models get exactly {@code 1 / sqrt(headDim)}). Hugging Face multiplies cos and sin by
     * {@code m}, which scales both rotated q and k by {@code m}; folding {@code m²} in here gives the same scores
     * while the rope ops stay unscaled. The KV cache therefore holds K without the factor {@code m} (it differs from
     * Hugging Face's cache by that factor), consistently on every node, since all of them read this scale.
     */
    public float attentionScale() {
        final double m = ropeScaling == null ? 1.0 : ropeScaling.attentionFactor();
        return (float) (m * m / Math.sqrt(headDim));
    }

    /** A copy: the record stays immutable. */
    @Override
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    public int qDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** Token ids in an {@code eos_token_id}-style field: absent, one integer, or a list of integers. */
    static int[] tokenIds(JsonNode node) {
        if (node == null || node.isNull()) {
            return new int[0];
        }
        if (node.isArray()) {
            final int[] ids = new int[node.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = node.get(i).asInt();
            }
            return ids;
        }
        return new int[] {node.asInt()};
    }

    private static double ropeTheta(JsonNode root) {
        final JsonNode params = root.get("rope_parameters");
        if (params != null && params.hasNonNull("rope_theta")) {
            return params.get("rope_theta").asDouble();
        }
        return root.path("rope_theta").asDouble(10000.0);
    }

    private static RopeScaling ropeScaling(JsonNode root, int maxPositions, String source)
            throws ModelLoadException {
        JsonNode scaling = root.get("rope_parameters");
        if (scaling == null || scaling.isNull()) {
            scaling = root.get("rope_scaling");
        }
        if (scaling == null || scaling.isNull()) {
            return null;
        }
        final String type = scaling.hasNonNull("rope_type") ? scaling.get("rope_type").asText()
                : scaling.path("type").asText("default");
        switch (type) {
            case "default":
                return null;
            case "llama3":
                for (String key : new String[] {"factor", "low_freq_factor", "high_freq_factor",
                        "original_max_position_embeddings"}) {
                    if (!scaling.path(key).isNumber()) {
                        throw new ModelLoadException(source + ": llama3 rope scaling lacks a numeric '" + key + "'");
                    }
                }
                final Llama3Scaling llama3 = new Llama3Scaling(scaling.get("factor").asDouble(),
                        scaling.get("low_freq_factor").asDouble(), scaling.get("high_freq_factor").asDouble(),
                        scaling.get("original_max_position_embeddings").asInt());
                if (!(llama3.factor() > 0) || !(llama3.highFreqFactor() > llama3.lowFreqFactor())
                        || llama3.originalMaxPositions() <= 0) {
                    throw new ModelLoadException(source + ": invalid llama3 rope scaling " + scaling
                            + " (needs factor > 0, high_freq_factor > low_freq_factor, a positive original length)");
                }
                return llama3;
            case "yarn":
                return yarn(root, scaling, maxPositions, source);
            default:
                throw new ModelLoadException(source + ": unsupported rope scaling type '" + type
                        + "' (supported: default, llama3, yarn)");
        }
    }

    /**
     * YaRN parameters resolved as transformers 5 resolves them: {@code factor} is required (at least 1);
     * {@code original_max_position_embeddings} is taken from the top level of config.json first (Phi-3 style), then
     * from the scaling object, else it defaults to {@code max_position_embeddings}; {@code beta_fast}/{@code
     * beta_slow} default to 32/1 (also when 0); {@code truncate} defaults to true; without {@code attention_factor}
     * the factor is {@code mscale(factor, mscale) / mscale(factor, mscale_all_dim)} when both of those are non-zero,
     * else {@code mscale(factor, 1)}. A {@code partial_rotary_factor} other than 1 is refused (rope covers the whole
     * head here).
     */
    private static YarnScaling yarn(JsonNode root, JsonNode scaling, int maxPositions, String source)
            throws ModelLoadException {
        final double factor = number(scaling, "factor", Double.NaN, source);
        if (!(factor >= 1) || Double.isInfinite(factor)) {
            throw new ModelLoadException(source + ": yarn rope scaling needs a finite numeric 'factor' >= 1, got "
                    + scaling.get("factor"));
        }
        final JsonNode originalNode = root.hasNonNull("original_max_position_embeddings") ? root
                : scaling.hasNonNull("original_max_position_embeddings") ? scaling : null;
        final int original = originalNode == null ? maxPositions
                : positiveInt(originalNode, "original_max_position_embeddings", source);
        final double betaFast = orDefault(number(scaling, "beta_fast", 0, source), 32);
        final double betaSlow = orDefault(number(scaling, "beta_slow", 0, source), 1);
        if (!(betaSlow > 0) || !(betaFast >= betaSlow)) {
            throw new ModelLoadException(source + ": yarn rope scaling needs 'beta_fast' >= 'beta_slow' > 0, got "
                    + betaFast + " and " + betaSlow);
        }
        final JsonNode truncate = scaling.get("truncate");
        if (truncate != null && !truncate.isNull() && !truncate.isBoolean()) {
            throw new ModelLoadException(source + ": yarn rope scaling 'truncate' must be true or false, got "
                    + truncate);
        }
        final double partialRotary = number(scaling, "partial_rotary_factor", 1, source);
        if (partialRotary != 1) {
            throw new ModelLoadException(source + ": unsupported 'partial_rotary_factor' " + partialRotary
                    + " (rope must cover the whole head)");
        }
        final double attentionFactor;
        if (scaling.hasNonNull("attention_factor")) {
            attentionFactor = number(scaling, "attention_factor", Double.NaN, source);
            if (!(attentionFactor > 0) || Double.isInfinite(attentionFactor)) {
                throw new ModelLoadException(source + ": yarn rope scaling 'attention_factor' must be a finite"
                        + " number > 0, got " + attentionFactor);
            }
        } else {
            final double mscale = number(scaling, "mscale", 0, source);
            final double mscaleAllDim = number(scaling, "mscale_all_dim", 0, source);
            attentionFactor = mscale != 0 && mscaleAllDim != 0
                    ? YarnScaling.mscale(factor, mscale) / YarnScaling.mscale(factor, mscaleAllDim)
                    : YarnScaling.mscale(factor, 1);
            if (!(attentionFactor > 0) || Double.isInfinite(attentionFactor)) {
                throw new ModelLoadException(source + ": yarn rope scaling 'mscale'/'mscale_all_dim' give attention"
                        + " factor " + attentionFactor + " (must be a finite number > 0)");
            }
        }
        return new YarnScaling(factor, original, betaFast, betaSlow, truncate == null || truncate.isNull()
                || truncate.asBoolean(), attentionFactor);
    }

    /** A numeric field of a rope scaling object, {@code fallback} when absent or null; anything else is refused. */
    private static double number(JsonNode scaling, String key, double fallback, String source)
            throws ModelLoadException {
        final JsonNode node = scaling.get(key);
        if (node == null || node.isNull()) {
            if (Double.isNaN(fallback)) {
                throw new ModelLoadException(source + ": rope scaling lacks a numeric '" + key + "'");
            }
            return fallback;
        }
        if (!node.isNumber()) {
            throw new ModelLoadException(source + ": rope scaling '" + key + "' must be a number, got " + node);
        }
        return node.asDouble();
    }

    /** transformers reads beta_fast/beta_slow with Python's {@code or}: an absent or zero value takes the default. */
    private static double orDefault(double value, double fallback) {
        return value == 0 ? fallback : value;
    }

    private static int positiveInt(JsonNode root, String key, String source) throws ModelLoadException {
        final JsonNode node = root.get(key);
        if (node == null || node.isNull()) {
            throw new ModelLoadException(source + ": missing '" + key + "'");
        }
        if (!node.isIntegralNumber() || node.asLong() <= 0 || node.asLong() > Integer.MAX_VALUE) {
            throw new ModelLoadException(source + ": '" + key + "' must be a positive integer, got " + node);
        }
        return node.asInt();
    }

    private static String text(JsonNode root, String key, String fallback) {
        final JsonNode node = root.get(key);
        return node == null || node.isNull() ? fallback : node.asText();
    }
}
