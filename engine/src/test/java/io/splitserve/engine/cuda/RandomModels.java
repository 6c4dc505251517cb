package io.splitserve.engine.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.splitserve.engine.weights.DType;
import io.splitserve.engine.weights.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Test fixture: small random bf16 checkpoints in Hugging Face layout with the head sizes the CUDA kernels take
 * (64 and 128), one per architecture feature: Qwen2 (q/k/v bias, untied LM head), Llama (llama3 rope scaling, tied
 * embeddings, head dim 64) and Qwen3 (q/k head norms, head dim 128 with hidden size != heads x head dim).
 */
final class RandomModels {
    static final int VOCAB = 512;
    private static final ObjectMapper JSON = new ObjectMapper();

    private RandomModels() {
    }

    static Path write(String arch, Path dir) throws IOException {
        final int hidden = 256;
        final int inter = 512;
        final int layers = 2;
        final int heads = 4;
        final int kvHeads = 2;
        final int headDim = arch.equals("qwen3") ? 128 : 64;
        final ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add(switch (arch) {
            case "qwen2" -> "Qwen2ForCausalLM";
            case "llama" -> "LlamaForCausalLM";
            default -> "Qwen3ForCausalLM";
        });
        c.put("model_type", arch);
        c.put("hidden_size", hidden);
        c.put("intermediate_size", inter);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", kvHeads);
        c.put("head_dim", headDim);
        c.put("vocab_size", VOCAB);
        c.put("max_position_embeddings", 2048);
        c.put("rms_norm_eps", 1e-6);
        c.put("bos_token_id", 0);
        c.put("eos_token_id", 2);
        c.put("hidden_act", "silu");
        c.put("dtype", "bfloat16");
        c.put("tie_word_embeddings", arch.equals("llama"));
        final ObjectNode rope = c.putObject("rope_parameters");
        if (arch.equals("llama")) {
            rope.put("rope_type", "llama3").put("rope_theta", 500000.0).put("factor", 8.0)
                    .put("low_freq_factor", 1.0).put("high_freq_factor", 4.0)
                    .put("original_max_position_embeddings", 256);
        } else {
            rope.put("rope_type", "default").put("rope_theta", 1000000.0);
        }
        Files.createDirectories(dir);
        JSON.writeValue(dir.resolve("config.json").toFile(), c);

        final SplittableRandom rnd = new SplittableRandom(arch.hashCode());
        final SafetensorsWriter w = new SafetensorsWriter();
        final int q = heads * headDim;
        final int kv = kvHeads * headDim;
        w.add("model.embed_tokens.weight", DType.BF16, new long[] {VOCAB, hidden}, uniform(rnd, VOCAB * hidden, 1f));
        for (int l = 0; l < layers; l++) {
            final String p = "model.layers." + l + ".";
            w.add(p + "input_layernorm.weight", DType.BF16, new long[] {hidden}, around1(rnd, hidden));
            w.add(p + "post_attention_layernorm.weight", DType.BF16, new long[] {hidden}, around1(rnd, hidden));
            w.add(p + "self_attn.q_proj.weight", DType.BF16, new long[] {q, hidden}, linear(rnd, q, hidden));
            w.add(p + "self_attn.k_proj.weight", DType.BF16, new long[] {kv, hidden}, linear(rnd, kv, hidden));
            w.add(p + "self_attn.v_proj.weight", DType.BF16, new long[] {kv, hidden}, linear(rnd, kv, hidden));
            w.add(p + "self_attn.o_proj.weight", DType.BF16, new long[] {hidden, q}, linear(rnd, hidden, q));
            if (arch.equals("qwen2")) {
                w.add(p + "self_attn.q_proj.bias", DType.BF16, new long[] {q}, uniform(rnd, q, 0.5f));
                w.add(p + "self_attn.k_proj.bias", DType.BF16, new long[] {kv}, uniform(rnd, kv, 0.5f));
                w.add(p + "self_attn.v_proj.bias", DType.BF16, new long[] {kv}, uniform(rnd, kv, 0.5f));
            }
            if (arch.equals("qwen3")) {
                w.add(p + "self_attn.q_norm.weight", DType.BF16, new long[] {headDim}, around1(rnd, headDim));
                w.add(p + "self_attn.k_norm.weight", DType.BF16, new long[] {headDim}, around1(rnd, headDim));
            }
            w.add(p + "mlp.gate_proj.weight", DType.BF16, new long[] {inter, hidden}, linear(rnd, inter, hidden));
            w.add(p + "mlp.up_proj.weight", DType.BF16, new long[] {inter, hidden}, linear(rnd, inter, hidden));
            w.add(p + "mlp.down_proj.weight", DType.BF16, new long[] {hidden, inter}, linear(rnd, hidden, inter));
        }
        w.add("model.norm.weight", DType.BF16, new long[] {hidden}, around1(rnd, hidden));
        if (!arch.equals("llama")) {
            w.add("lm_head.weight", DType.BF16, new long[] {VOCAB, hidden}, linear(rnd, VOCAB, hidden));
        }
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    /** Uniform weights with the variance that keeps activations of order one through the layer. */
    private static float[] linear(SplittableRandom rnd, int out, int in) {
        return uniform(rnd, out * in, (float) Math.sqrt(3.0 / in));
    }

    private static float[] uniform(SplittableRandom rnd, int n, float scale) {
        final float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
        }
        return f;
    }

    private static float[] around1(SplittableRandom rnd, int n) {
        final float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (1 + (rnd.nextDouble() * 2 - 1) * 0.2);
        }
        return f;
    }

    /** A token sequence drawn from the vocabulary, avoiding the special ids below 4. */
    static int[] tokens(long seed, int length) {
        final SplittableRandom rnd = new SplittableRandom(seed);
        final int[] t = new int[length];
        for (int i = 0; i < length; i++) {
            t[i] = 4 + rnd.nextInt(VOCAB - 4);
        }
        return t;
    }
}
