package io.splitserve.engine.weights;

import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelLoadException;
import java.nio.file.Path;

/**
 * Every weight of a model as fp32 arrays in the layouts the CPU ops expect, checked against the configuration by
 * name and shape at load time. Linear weights stay {@code [out][in]} as Hugging Face stores them; gate and up
 * projections are fused into one {@code [2·intermediate][hidden]} matrix (gate rows first) so one matmul feeds
 * {@code siluMul}. With tied embeddings {@link #lmHead()} is the embedding table itself.
 */
public final class ModelWeights {

    /**
     * One decoder layer. Biases are null where the architecture has none; {@code qNorm}/{@code kNorm} are null
     * except for Qwen3.
     */
    public record Layer(float[] inputNorm, float[] wq, float[] bq, float[] wk, float[] bk, float[] wv, float[] bv,
                        float[] wo, float[] bo, float[] qNorm, float[] kNorm, float[] postAttentionNorm,
                        float[] wGateUp, float[] wDown) {
    }

    private final float[] embedding;
    private final Layer[] layers;
    private final float[] finalNorm;
    private final float[] lmHead;

    private ModelWeights(float[] embedding, Layer[] layers, float[] finalNorm, float[] lmHead) {
        this.embedding = embedding;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
    }

    public static ModelWeights load(Path modelDir, ModelConfig config) throws ModelLoadException {
        try (WeightFiles files = WeightFiles.open(modelDir)) {
            return load(files, config);
        }
    }

    public static ModelWeights load(WeightFiles files, ModelConfig c) throws ModelLoadException {
        final long hidden = c.hiddenSize();
        final long q = c.qDim();
        final long kv = c.kvDim();
        final long inter = c.intermediateSize();
        final float[] embedding = files.read("model.embed_tokens.weight", c.vocabSize(), hidden);
        final Layer[] layers = new Layer[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            final String p = "model.layers." + i + ".";
            final String attn = p + "self_attn.";
            final float[] gate = files.read(p + "mlp.gate_proj.weight", inter, hidden);
            final float[] up = files.read(p + "mlp.up_proj.weight", inter, hidden);
            final float[] gateUp = new float[gate.length + up.length];
            System.arraycopy(gate, 0, gateUp, 0, gate.length);
            System.arraycopy(up, 0, gateUp, gate.length, up.length);
            layers[i] = new Layer(
                    files.read(p + "input_layernorm.weight", hidden),
                    files.read(attn + "q_proj.weight", q, hidden),
                    c.qkvBias() ? files.read(attn + "q_proj.bias", q) : null,
                    files.read(attn + "k_proj.weight", kv, hidden),
                    c.qkvBias() ? files.read(attn + "k_proj.bias", kv) : null,
                    files.read(attn + "v_proj.weight", kv, hidden),
                    c.qkvBias() ? files.read(attn + "v_proj.bias", kv) : null,
                    files.read(attn + "o_proj.weight", hidden, q),
                    c.outputBias() ? files.read(attn + "o_proj.bias", hidden) : null,
                    c.qkNorm() ? files.read(attn + "q_norm.weight", c.headDim()) : null,
                    c.qkNorm() ? files.read(attn + "k_norm.weight", c.headDim()) : null,
                    files.read(p + "post_attention_layernorm.weight", hidden),
                    gateUp,
                    files.read(p + "mlp.down_proj.weight", hidden, inter));
        }
        final float[] finalNorm = files.read("model.norm.weight", hidden);
        final float[] lmHead = c.tieWordEmbeddings() ? embedding : files.read("lm_head.weight", c.vocabSize(), hidden);
        return new ModelWeights(embedding, layers, finalNorm, lmHead);
    }

    /** {@code [vocab][hidden]} */
    public float[] embedding() {
        return embedding;
    }

    public Layer layer(int index) {
        return layers[index];
    }

    public float[] finalNorm() {
        return finalNorm;
    }

    /** {@code [vocab][hidden]} */
    public float[] lmHead() {
        return lmHead;
    }
}
