package io.splitserve.engine.forward;

import io.splitserve.engine.weights.DecoderWeights;
import io.splitserve.engine.weights.WeightFiles;
import io.splitserve.engine.weights.WeightLayout;
import io.splitserve.engine.weights.WeightMaterializer;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelLoadException;
import java.nio.file.Path;

/**
 * Materialises the {@link WeightLayout} for the CPU: every weight stays the fp32 array the layout read (~4 bytes per
 * parameter of heap), linear layers become {@link Fp32Linear}s, and a tied LM head shares the embedding array.
 */
public final class CpuWeights implements WeightMaterializer<float[], float[], CpuLinear> {
    private static final CpuWeights INSTANCE = new CpuWeights();

    private CpuWeights() {
    }

    public static DecoderWeights<float[], float[], CpuLinear> load(Path modelDir, ModelConfig config)
            throws ModelLoadException {
        try (WeightFiles files = WeightFiles.open(modelDir)) {
            return load(files, config);
        }
    }

    public static DecoderWeights<float[], float[], CpuLinear> load(WeightFiles files, ModelConfig config)
            throws ModelLoadException {
        return WeightLayout.of(config).load(files, INSTANCE);
    }

    @Override
    public float[] embedding(float[] table, int vocab, int hidden) {
        return table;
    }

    @Override
    public float[] norm(float[] weight) {
        return weight;
    }

    @Override
    public CpuLinear linear(float[] weight, float[] bias, int out, int in) {
        return new Fp32Linear(weight, bias, out, in);
    }

    @Override
    public CpuLinear lmHead(float[] weight, int vocab, int hidden) {
        return new Fp32Linear(weight, null, vocab, hidden);
    }

    @Override
    public CpuLinear tiedLmHead(float[] embedding, int vocab, int hidden) {
        return new Fp32Linear(embedding, null, vocab, hidden);
    }
}
