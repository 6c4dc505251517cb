package io.splitserve.engine.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.splitserve.engine.weights.DType;
import io.splitserve.engine.weights.SafetensorsWriter;
import io.splitserve.tokenizer.BpeTrainer;
import io.splitserve.tokenizer.Tokenizer;
import io.splitserve.tokenizer.TokenizerException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The built-in demo model: a small Llama-architecture checkpoint with deterministic random weights and a byte-level
 * BPE tokenizer trained on a small English corpus, written as a real Hugging Face directory (config.json,
 * generation_config.json, model.safetensors, tokenizer.json, tokenizer_config.json with a chat template).
 *
 * <p>It exists so that every command works out of the box with no download; its output is gibberish. The same
 * version always produces the same bytes, and a directory is published only when complete (written aside, then
 * renamed), so concurrent first uses are safe.
 */
public final class DemoModel {
    /** Bumped whenever the files would change, so an old cached copy is never reused. Head size 64 suits the CUDA kernels too. */
    public static final String VERSION = "demo-llama-v2";
    static final int TARGET_VOCAB = 1024;
    static final int HIDDEN = 256;
    static final int INTERMEDIATE = 768;
    static final int LAYERS = 4;
    static final int HEADS = 4;
    static final int KV_HEADS = 2;
    static final long SEED = 20261121L;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private DemoModel() {}

    /** {@code $SPLITSERVE_CACHE/<VERSION>}, else under {@code $XDG_CACHE_HOME} or {@code ~/.cache/splitserve}. */
    public static Path defaultLocation() {
        String cache = System.getenv("SPLITSERVE_CACHE");
        if (cache == null || cache.isBlank()) {
            String xdg = System.getenv("XDG_CACHE_HOME");
            Path base = xdg == null || xdg.isBlank() ? Path.of(System.getProperty("user.home"), ".cache") : Path.of(xdg);
            return base.resolve("splitserve").resolve(VERSION);
        }
        return Path.of(cache).resolve(VERSION);
    }

    /** Returns {@code dir}, creating the demo model there first if it is not complete yet. */
    public static Path ensure(Path dir) throws IOException {
        if (Files.isRegularFile(dir.resolve("model.safetensors"))) {
            return dir;
        }
        Files.createDirectories(dir.getParent());
        Path staging = Files.createTempDirectory(dir.getParent(), VERSION + ".partial-");
        try {
            write(staging);
            try {
                Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                // a concurrent first use may have won the rename: its copy is identical
                if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
                    throw e;
                }
            }
        } finally {
            deleteRecursively(staging);
        }
        return dir;
    }

    /** Writes every file of the demo model into {@code dir}. */
    static void write(Path dir) throws IOException {
        String tokenizerJson = BpeTrainer.trainTokenizerJson(
            BpeTrainer.demoCorpus(), TARGET_VOCAB, BpeTrainer.DEMO_SPECIAL_TOKENS);
        Tokenizer tokenizer;
        try {
            tokenizer = Tokenizer.fromJson(tokenizerJson);
        } catch (TokenizerException e) {
            throw new IllegalStateException("the demo tokenizer does not load: " + e.getMessage(), e);
        }
        int vocab = tokenizer.vocabSize();
        int endOfText = tokenizer.tokenToId("<|endoftext|>");
        int endOfTurn = tokenizer.tokenToId("<|end|>");

        Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson);
        Files.writeString(dir.resolve("tokenizer_config.json"), BpeTrainer.demoTokenizerConfigJson());
        Files.writeString(dir.resolve("config.json"), configJson(vocab, endOfText, endOfTurn));
        ObjectNode generation = JSON.createObjectNode();
        generation.putArray("eos_token_id").add(endOfTurn).add(endOfText);
        generation.put("do_sample", false);
        Files.writeString(dir.resolve("generation_config.json"), JSON.writeValueAsString(generation));
        weights(vocab).write(dir.resolve("model.safetensors"));
    }

    private static String configJson(int vocab, int endOfText, int endOfTurn) throws IOException {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        c.put("vocab_size", vocab);
        c.put("hidden_size", HIDDEN);
        c.put("intermediate_size", INTERMEDIATE);
        c.put("num_hidden_layers", LAYERS);
        c.put("num_attention_heads", HEADS);
        c.put("num_key_value_heads", KV_HEADS);
        c.put("head_dim", HIDDEN / HEADS);
        c.put("hidden_act", "silu");
        c.put("max_position_embeddings", 4096);
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("tie_word_embeddings", false);
        c.put("attention_bias", false);
        c.put("mlp_bias", false);
        c.put("bos_token_id", endOfText);
        c.put("eos_token_id", endOfTurn);
        c.put("torch_dtype", "bfloat16");
        return JSON.writeValueAsString(c);
    }

    private static SafetensorsWriter weights(int vocab) {
        SplittableRandom random = new SplittableRandom(SEED);
        int headDim = HIDDEN / HEADS;
        SafetensorsWriter w = new SafetensorsWriter();
        w.add("model.embed_tokens.weight", DType.BF16, new long[] {vocab, HIDDEN}, gaussian(random, vocab * HIDDEN, 1.0));
        for (int l = 0; l < LAYERS; l++) {
            String p = "model.layers." + l + ".";
            w.add(p + "input_layernorm.weight", DType.BF16, new long[] {HIDDEN}, ones(HIDDEN));
            w.add(p + "self_attn.q_proj.weight", DType.BF16, new long[] {HIDDEN, HIDDEN}, linear(random, HIDDEN, HIDDEN));
            w.add(p + "self_attn.k_proj.weight", DType.BF16, new long[] {KV_HEADS * headDim, HIDDEN},
                linear(random, KV_HEADS * headDim, HIDDEN));
            w.add(p + "self_attn.v_proj.weight", DType.BF16, new long[] {KV_HEADS * headDim, HIDDEN},
                linear(random, KV_HEADS * headDim, HIDDEN));
            w.add(p + "self_attn.o_proj.weight", DType.BF16, new long[] {HIDDEN, HIDDEN}, linear(random, HIDDEN, HIDDEN));
            w.add(p + "post_attention_layernorm.weight", DType.BF16, new long[] {HIDDEN}, ones(HIDDEN));
            w.add(p + "mlp.gate_proj.weight", DType.BF16, new long[] {INTERMEDIATE, HIDDEN},
                linear(random, INTERMEDIATE, HIDDEN));
            w.add(p + "mlp.up_proj.weight", DType.BF16, new long[] {INTERMEDIATE, HIDDEN},
                linear(random, INTERMEDIATE, HIDDEN));
            w.add(p + "mlp.down_proj.weight", DType.BF16, new long[] {HIDDEN, INTERMEDIATE},
                linear(random, HIDDEN, INTERMEDIATE));
        }
        w.add("model.norm.weight", DType.BF16, new long[] {HIDDEN}, ones(HIDDEN));
        w.add("lm_head.weight", DType.BF16, new long[] {vocab, HIDDEN}, gaussian(random, vocab * HIDDEN, 4.0 / Math.sqrt(HIDDEN)));
        w.metadata("format", "pt");
        return w;
    }

    /** A [out][in] projection scaled by 1/sqrt(in), so activations keep their size through the layers. */
    private static float[] linear(SplittableRandom random, int out, int in) {
        return gaussian(random, out * in, 1.0 / Math.sqrt(in));
    }

    private static float[] gaussian(SplittableRandom random, int n, double std) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (random.nextGaussian() * std);
        }
        return values;
    }

    private static float[] ones(int n) {
        float[] values = new float[n];
        Arrays.fill(values, 1f);
        return values;
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
