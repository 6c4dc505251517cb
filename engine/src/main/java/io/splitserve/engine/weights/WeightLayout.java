package io.splitserve.engine.weights;

import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelLoadException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which Hugging Face tensors make which logical weight of a Llama 3 / Qwen2 / Qwen3 checkpoint, with the shapes the
 * configuration implies, and the fusions every backend uses: {@code q_proj|k_proj|v_proj} rows into one QKV matrix
 * {@code [qDim + 2·kvDim][hidden]} (their biases into one bias where the architecture has them),
 * {@code gate_proj|up_proj} rows into one {@code [2·intermediate][hidden]} matrix (gate rows first). Optional
 * tensors follow the configuration: q/k/v biases ({@link ModelConfig#qkvBias()}), an o_proj bias
 * ({@link ModelConfig#outputBias()}), q/k head norms ({@link ModelConfig#qkNorm()}), and {@code lm_head.weight}
 * unless the embeddings are tied. {@link #load} reads every tensor in a fixed order, checking name and shape, and
 * hands each logical weight to a backend's {@link WeightMaterializer}.
 */
public final class WeightLayout {

    /** One checkpoint tensor and the shape the configuration needs. */
    public record Tensor(String name, long... shape) {
        @Override
        public String toString() {
            return name + Arrays.toString(shape);
        }
    }

    /** A linear layer made of the rows of {@code weights} stacked in order, with {@code biases} (or none). */
    public record FusedLinear(List<Tensor> weights, List<Tensor> biases) {
        public long out() {
            long rows = 0;
            for (Tensor w : weights) {
                rows += w.shape()[0];
            }
            return rows;
        }

        public long in() {
            return weights.get(0).shape()[1];
        }
    }

    /** One decoder layer; {@code qNorm} and {@code kNorm} are null without q/k head norms. */
    public record LayerLayout(Tensor inputNorm, FusedLinear qkv, FusedLinear o, Tensor qNorm, Tensor kNorm,
                              Tensor postAttentionNorm, FusedLinear gateUp, FusedLinear down) {
    }

    private final Tensor embedding;
    private final List<LayerLayout> layers;
    private final Tensor finalNorm;
    private final Tensor lmHead;

    private WeightLayout(Tensor embedding, List<LayerLayout> layers, Tensor finalNorm, Tensor lmHead) {
        this.embedding = embedding;
        this.layers = List.copyOf(layers);
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
    }

    public static WeightLayout of(ModelConfig c) {
        final long hidden = c.hiddenSize();
        final long q = c.qDim();
        final long kv = c.kvDim();
        final long inter = c.intermediateSize();
        final List<LayerLayout> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            final String p = "model.layers." + i + ".";
            final String attn = p + "self_attn.";
            final FusedLinear qkv = new FusedLinear(
                    List.of(new Tensor(attn + "q_proj.weight", q, hidden), new Tensor(attn + "k_proj.weight", kv, hidden),
                            new Tensor(attn + "v_proj.weight", kv, hidden)),
                    c.qkvBias() ? List.of(new Tensor(attn + "q_proj.bias", q), new Tensor(attn + "k_proj.bias", kv),
                            new Tensor(attn + "v_proj.bias", kv)) : List.of());
            final FusedLinear o = new FusedLinear(List.of(new Tensor(attn + "o_proj.weight", hidden, q)),
                    c.outputBias() ? List.of(new Tensor(attn + "o_proj.bias", hidden)) : List.of());
            final FusedLinear gateUp = new FusedLinear(List.of(new Tensor(p + "mlp.gate_proj.weight", inter, hidden),
                    new Tensor(p + "mlp.up_proj.weight", inter, hidden)), List.of());
            final FusedLinear down = new FusedLinear(List.of(new Tensor(p + "mlp.down_proj.weight", hidden, inter)),
                    List.of());
            layers.add(new LayerLayout(new Tensor(p + "input_layernorm.weight", hidden), qkv, o,
                    c.qkNorm() ? new Tensor(attn + "q_norm.weight", c.headDim()) : null,
                    c.qkNorm() ? new Tensor(attn + "k_norm.weight", c.headDim()) : null,
                    new Tensor(p + "post_attention_layernorm.weight", hidden), gateUp, down));
        }
        return new WeightLayout(new Tensor("model.embed_tokens.weight", c.vocabSize(), hidden), layers,
                new Tensor("model.norm.weight", hidden),
                c.tieWordEmbeddings() ? null : new Tensor("lm_head.weight", c.vocabSize(), hidden));
    }

    public Tensor embedding() {
        return embedding;
    }

    public int layerCount() {
        return layers.size();
    }

    public LayerLayout layer(int index) {
        return layers.get(index);
    }

    public Tensor finalNorm() {
        return finalNorm;
    }

    /** Null when the embeddings are tied (the LM head is the embedding table). */
    public Tensor lmHead() {
        return lmHead;
    }

    /** Every checkpoint tensor the layout reads, in the order {@link #load} reads them. */
    public List<Tensor> tensors() {
        final List<Tensor> all = new ArrayList<>();
        all.add(embedding);
        for (LayerLayout l : layers) {
            all.add(l.inputNorm());
            all.addAll(l.qkv().weights());
            all.addAll(l.qkv().biases());
            all.addAll(l.o().weights());
            all.addAll(l.o().biases());
            if (l.qNorm() != null) {
                all.add(l.qNorm());
                all.add(l.kNorm());
            }
            all.add(l.postAttentionNorm());
            all.addAll(l.gateUp().weights());
            all.addAll(l.down().weights());
        }
        all.add(finalNorm);
        if (lmHead != null) {
            all.add(lmHead);
        }
        return all;
    }

    /**
     * Reads every tensor (checking its presence and shape, so a mismatch names the tensor), fuses them and hands each
     * logical weight to {@code backend}, in the order of {@link #tensors()}.
     */
    public <E, N, L> DecoderWeights<E, N, L> load(WeightFiles files, WeightMaterializer<E, N, L> backend)
            throws ModelLoadException {
        final int vocab = (int) embedding.shape()[0];
        final int hidden = (int) embedding.shape()[1];
        final E table = backend.embedding(read(files, embedding), vocab, hidden);
        final List<DecoderWeights.Layer<N, L>> built = new ArrayList<>(layers.size());
        for (LayerLayout l : layers) {
            final N inputNorm = backend.norm(read(files, l.inputNorm()));
            final L qkv = linear(files, l.qkv(), backend);
            final L o = linear(files, l.o(), backend);
            final N qNorm = l.qNorm() == null ? null : backend.norm(read(files, l.qNorm()));
            final N kNorm = l.kNorm() == null ? null : backend.norm(read(files, l.kNorm()));
            final N postAttentionNorm = backend.norm(read(files, l.postAttentionNorm()));
            final L gateUp = linear(files, l.gateUp(), backend);
            final L down = linear(files, l.down(), backend);
            built.add(new DecoderWeights.Layer<>(inputNorm, qkv, o, qNorm, kNorm, postAttentionNorm, gateUp, down));
        }
        final N norm = backend.norm(read(files, finalNorm));
        final L head = lmHead == null ? backend.tiedLmHead(table, vocab, hidden)
                : backend.lmHead(read(files, lmHead), vocab, hidden);
        return new DecoderWeights<>(table, built, norm, head);
    }

    private static <L> L linear(WeightFiles files, FusedLinear layout, WeightMaterializer<?, ?, L> backend)
            throws ModelLoadException {
        final float[] weight = concat(files, layout.weights());
        final float[] bias = layout.biases().isEmpty() ? null : concat(files, layout.biases());
        return backend.linear(weight, bias, (int) layout.out(), (int) layout.in());
    }

    /** The tensors' values back to back: stacking {@code [rows][in]} matrices row-wise, or biases end to end. */
    private static float[] concat(WeightFiles files, List<Tensor> parts) throws ModelLoadException {
        if (parts.size() == 1) {
            return read(files, parts.get(0));
        }
        final float[][] values = new float[parts.size()][];
        long total = 0;
        for (int i = 0; i < values.length; i++) {
            values[i] = read(files, parts.get(i));
            total += values[i].length;
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new ModelLoadException("fused weight of " + parts + " has " + total + " elements, more than one"
                    + " array holds");
        }
        final float[] fused = new float[(int) total];
        int at = 0;
        for (float[] v : values) {
            System.arraycopy(v, 0, fused, at, v.length);
            at += v.length;
        }
        return fused;
    }

    private static float[] read(WeightFiles files, Tensor tensor) throws ModelLoadException {
        return files.read(tensor.name(), tensor.shape());
    }
}
