package io.splitserve.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.model.SamplingParams;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** config.json and generation_config.json as real checkpoints write them, and the errors bad ones get. */
class ModelConfigTest {
    /** Shaped like Llama-3.2-1B-Instruct's config (classic rope_theta + rope_scaling, eos list). */
    private static final String LLAMA_32 = "{\"architectures\":[\"LlamaForCausalLM\"],\"attention_bias\":false,"
            + "\"bos_token_id\":128000,\"eos_token_id\":[128001,128008,128009],\"head_dim\":64,"
            + "\"hidden_act\":\"silu\",\"hidden_size\":2048,\"intermediate_size\":8192,"
            + "\"max_position_embeddings\":131072,\"mlp_bias\":false,\"num_attention_heads\":32,"
            + "\"num_hidden_layers\":16,\"num_key_value_heads\":8,\"rms_norm_eps\":1e-05,"
            + "\"rope_scaling\":{\"factor\":32.0,\"high_freq_factor\":4.0,\"low_freq_factor\":1.0,"
            + "\"original_max_position_embeddings\":8192,\"rope_type\":\"llama3\"},\"rope_theta\":500000.0,"
            + "\"tie_word_embeddings\":true,\"torch_dtype\":\"bfloat16\",\"vocab_size\":128256}";

    /** Shaped like Qwen2.5-0.5B-Instruct's config. */
    private static final String QWEN25 = "{\"architectures\":[\"Qwen2ForCausalLM\"],\"bos_token_id\":151643,"
            + "\"eos_token_id\":151645,\"hidden_act\":\"silu\",\"hidden_size\":896,\"intermediate_size\":4864,"
            + "\"max_position_embeddings\":32768,\"num_attention_heads\":14,\"num_hidden_layers\":24,"
            + "\"num_key_value_heads\":2,\"rms_norm_eps\":1e-06,\"rope_theta\":1000000.0,\"sliding_window\":32768,"
            + "\"tie_word_embeddings\":true,\"torch_dtype\":\"bfloat16\",\"use_sliding_window\":false,"
            + "\"vocab_size\":151936}";

    @TempDir
    Path dir;

    @Test
    void llamaWithLlama3RopeScalingAndEosList() throws Exception {
        final ModelConfig c = ModelConfig.parse(LLAMA_32, "config.json");
        assertEquals(Architecture.LLAMA, c.architecture());
        assertEquals(64, c.headDim());
        assertEquals(8, c.numKvHeads());
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(new Llama3Scaling(32.0, 1.0, 4.0, 8192), c.ropeScaling());
        assertArrayEquals(new int[] {128001, 128008, 128009}, c.eosTokenIds());
        assertEquals(128000, c.bosTokenId());
        assertTrue(c.tieWordEmbeddings());
        assertFalse(c.qkvBias());
        assertEquals("bfloat16", c.dtype());
        assertEquals(1e-5f, c.rmsNormEps());
    }

    @Test
    void qwen2HasQkvBiasAndDerivedHeadDim() throws Exception {
        final ModelConfig c = ModelConfig.parse(QWEN25, "config.json");
        assertEquals(Architecture.QWEN2, c.architecture());
        assertEquals(64, c.headDim(), "896 / 14");
        assertTrue(c.qkvBias());
        assertFalse(c.outputBias());
        assertFalse(c.qkNorm());
        assertNull(c.ropeScaling());
        assertArrayEquals(new int[] {151645}, c.eosTokenIds());
    }

    @Test
    void ropeParametersOfNewerTransformersAreRead() throws Exception {
        final String json = QWEN25.replace("\"rope_theta\":1000000.0", "\"rope_parameters\":{\"rope_theta\":123.0,"
                + "\"rope_type\":\"default\"}").replace("Qwen2ForCausalLM", "Qwen3ForCausalLM")
                .replace("\"hidden_size\":896", "\"hidden_size\":896,\"head_dim\":128");
        final ModelConfig c = ModelConfig.parse(json, "config.json");
        assertEquals(123.0, c.ropeTheta());
        assertNull(c.ropeScaling());
        assertEquals(128, c.headDim(), "explicit head_dim wins over hidden / heads");
        assertTrue(c.qkNorm());
        assertFalse(c.qkvBias());
    }

    @Test
    void llamaAttentionBiasCoversOutputProjection() throws Exception {
        final ModelConfig c = ModelConfig.parse(LLAMA_32.replace("\"attention_bias\":false", "\"attention_bias\":true"),
                "config.json");
        assertTrue(c.qkvBias());
        assertTrue(c.outputBias());
    }

    /** Qwen2.5-7B-Instruct's long-context recipe: the classic layout, {@code type} rather than {@code rope_type}. */
    private static final String QWEN25_YARN = QWEN25.replace("\"rope_theta\":1000000.0",
            "\"rope_theta\":1000000.0,\"rope_scaling\":{\"factor\":4.0,\"original_max_position_embeddings\":32768,"
                    + "\"type\":\"yarn\"}").replace("\"hidden_size\":896", "\"hidden_size\":896,\"head_dim\":128");

    private static String yarnWith(String extraFields) {
        return QWEN25_YARN.replace("\"type\":\"yarn\"", "\"type\":\"yarn\"," + extraFields);
    }

    @Test
    void yarnScalingResolvesTransformersDefaults() throws Exception {
        final ModelConfig c = ModelConfig.parse(QWEN25_YARN, "config.json");
        final double m = 0.1 * Math.log(4) + 1;
        assertEquals(new YarnScaling(4.0, 32768, 32, 1, true, m), c.ropeScaling());
        assertArrayEquals(RopeFrequencies.yarn(128, 1e6, 4, 32768, 32, 1, true), c.ropeInvFreq());
        // 1.138629^2 / sqrt(128), worked by hand: 1.296477 / 11.313708
        assertEquals(0.1145934591559475, c.attentionScale(), 1e-7);
    }

    @Test
    void yarnInRopeParametersWithExplicitFields() throws Exception {
        final String json = QWEN25.replace("\"rope_theta\":1000000.0", "\"rope_parameters\":{\"rope_theta\":1e6,"
                + "\"rope_type\":\"yarn\",\"factor\":8,\"original_max_position_embeddings\":4096,"
                + "\"beta_fast\":16,\"beta_slow\":2,\"truncate\":false,\"attention_factor\":1.5}");
        final ModelConfig c = ModelConfig.parse(json, "config.json");
        assertEquals(new YarnScaling(8, 4096, 16, 2, false, 1.5), c.ropeScaling());
        assertEquals((float) (1.5 * 1.5 / 8), c.attentionScale(), "head dim 64: 2.25 / 8");
    }

    @Test
    void yarnAttentionFactorFromMscaleRatioAndOriginalLengthFallbacks() throws Exception {
        final ModelConfig ratio = ModelConfig.parse(yarnWith("\"mscale\":2,\"mscale_all_dim\":1"), "config.json");
        assertEquals((0.2 * Math.log(4) + 1) / (0.1 * Math.log(4) + 1), ratio.ropeScaling().attentionFactor(), 1e-12);
        final ModelConfig onlyOne = ModelConfig.parse(yarnWith("\"mscale\":2"), "config.json");
        assertEquals(0.1 * Math.log(4) + 1, onlyOne.ropeScaling().attentionFactor(), 1e-12,
                "mscale without mscale_all_dim is ignored");
        final ModelConfig topLevel = ModelConfig.parse(QWEN25_YARN.replace("\"vocab_size\"",
                "\"original_max_position_embeddings\":4096,\"vocab_size\""), "config.json");
        assertEquals(4096, ((YarnScaling) topLevel.ropeScaling()).originalMaxPositions(), "top level wins");
        final ModelConfig absent = ModelConfig.parse(QWEN25_YARN.replace(
                "\"original_max_position_embeddings\":32768,", ""), "config.json");
        assertEquals(32768, ((YarnScaling) absent.ropeScaling()).originalMaxPositions(),
                "defaults to max_position_embeddings");
    }

    @Test
    void plainAndLlama3ModelsKeepOneOverSqrtHeadDim() throws Exception {
        assertEquals((float) (1.0 / Math.sqrt(64)), ModelConfig.parse(QWEN25, "config.json").attentionScale());
        assertEquals((float) (1.0 / Math.sqrt(64)), ModelConfig.parse(LLAMA_32, "config.json").attentionScale());
    }

    @Test
    void badYarnFieldsAreNamed() {
        assertEquals("config.json: rope scaling lacks a numeric 'factor'",
                failure(QWEN25_YARN.replace("\"factor\":4.0,", "")));
        assertEquals("config.json: rope scaling 'factor' must be a number, got \"4\"",
                failure(QWEN25_YARN.replace("\"factor\":4.0", "\"factor\":\"4\"")));
        assertEquals("config.json: yarn rope scaling needs a finite numeric 'factor' >= 1, got 0.5",
                failure(QWEN25_YARN.replace("\"factor\":4.0", "\"factor\":0.5")));
        assertEquals("config.json: 'original_max_position_embeddings' must be a positive integer, got 0",
                failure(QWEN25_YARN.replace(":32768,\"type\"", ":0,\"type\"")));
        assertEquals("config.json: yarn rope scaling needs 'beta_fast' >= 'beta_slow' > 0, got 2.0 and 4.0",
                failure(yarnWith("\"beta_fast\":2,\"beta_slow\":4")));
        assertEquals("config.json: rope scaling 'beta_slow' must be a number, got true",
                failure(yarnWith("\"beta_slow\":true")));
        assertEquals("config.json: yarn rope scaling 'truncate' must be true or false, got 1",
                failure(yarnWith("\"truncate\":1")));
        assertEquals("config.json: yarn rope scaling 'attention_factor' must be a finite number > 0, got -1.0",
                failure(yarnWith("\"attention_factor\":-1")));
        assertEquals("config.json: unsupported 'partial_rotary_factor' 0.5 (rope must cover the whole head)",
                failure(yarnWith("\"partial_rotary_factor\":0.5")));
    }

    private static String failure(String json) {
        return assertThrows(ModelLoadException.class, () -> ModelConfig.parse(json, "config.json")).getMessage();
    }

    @Test
    void unsupportedArchitectureListsTheSupportedOnes() {
        assertEquals("config.json: unsupported architecture 'MistralForCausalLM' (supported: LlamaForCausalLM, "
                + "Qwen2ForCausalLM, Qwen3ForCausalLM)",
                failure(QWEN25.replace("Qwen2ForCausalLM", "MistralForCausalLM")));
    }

    @Test
    void badConfigsGetOneLineErrors() {
        assertEquals("config.json: not valid JSON", failure("{\"architectures\": ["));
        assertEquals("config.json: no 'architectures' entry", failure("{}"));
        assertEquals("config.json: missing 'hidden_size'", failure(QWEN25.replace("\"hidden_size\":896,", "")));
        assertEquals("config.json: 'vocab_size' must be a positive integer, got -3",
                failure(QWEN25.replace("151936", "-3")));
        assertEquals("config.json: unsupported rope scaling type 'longrope' (supported: default, llama3, yarn)",
                failure(LLAMA_32.replace("\"rope_type\":\"llama3\"", "\"rope_type\":\"longrope\"")));
        assertEquals("config.json: num_attention_heads 14 is not a multiple of num_key_value_heads 4",
                failure(QWEN25.replace("\"num_key_value_heads\":2", "\"num_key_value_heads\":4")));
        assertEquals("config.json: unsupported hidden_act 'gelu' (only silu)", failure(QWEN25.replace("silu", "gelu")));
        assertEquals("config.json: unsupported use_sliding_window true (sliding-window attention)",
                failure(QWEN25.replace("\"use_sliding_window\":false", "\"use_sliding_window\":true")));
        assertTrue(failure(LLAMA_32.replace("\"high_freq_factor\":4.0", "\"high_freq_factor\":0.5"))
                .startsWith("config.json: invalid llama3 rope scaling {"));
        assertEquals("config.json: llama3 rope scaling lacks a numeric 'low_freq_factor'",
                failure(LLAMA_32.replace("\"low_freq_factor\":1.0,", "")));
    }

    @Test
    void missingConfigFileIsReported() {
        assertEquals(dir + ": missing config.json (is this a Hugging Face model directory?)",
                assertThrows(ModelLoadException.class, () -> ModelConfig.load(dir)).getMessage());
    }

    @Test
    void generationConfigReadsEosListAndSamplingDefaults() throws Exception {
        final GenerationConfig g = GenerationConfig.parse("{\"bos_token_id\":151643,\"do_sample\":true,"
                + "\"eos_token_id\":[151645,151643],\"temperature\":0.7,\"top_k\":20,\"top_p\":0.8}", "g.json");
        assertArrayEquals(new int[] {151645, 151643}, g.eosTokenIds());
        assertTrue(g.doSample());
        assertEquals(0.7, g.temperature());
        assertEquals(20, g.topK());
        assertEquals(0.8, g.topP());
        assertEquals(0.0, g.minP());
        assertEquals(151643, g.bosTokenId());
        assertEquals(new SamplingParams(0.7, 20, 0.8, 0.0, 5), g.samplingParams(5));
        final GenerationConfig single = GenerationConfig.parse("{\"eos_token_id\":2}", "g.json");
        assertArrayEquals(new int[] {2}, single.eosTokenIds());
        assertFalse(single.doSample());
        assertEquals(1.0, single.temperature());
        assertTrue(single.samplingParams(5).isGreedy(), "no do_sample: greedy");
    }

    @Test
    void missingGenerationConfigGivesDefaultsAndBadOneIsAnError() throws Exception {
        assertEquals(0, GenerationConfig.load(dir).eosTokenIds().length);
        assertEquals("g.json: not valid JSON",
                assertThrows(ModelLoadException.class, () -> GenerationConfig.parse("{", "g.json")).getMessage());
    }
}
