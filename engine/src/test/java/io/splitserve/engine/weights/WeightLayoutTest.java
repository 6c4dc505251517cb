package io.splitserve.engine.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.splitserve.engine.forward.CpuLinear;
import io.splitserve.engine.forward.CpuWeights;
import io.splitserve.engine.forward.Fp32Linear;
import io.splitserve.model.ModelConfig;
import java.net.URL;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The weight layout against the checkpoints Hugging Face transformers wrote for each architecture: it names
 * exactly the tensors a checkpoint holds, with their shapes, and the CPU's materialised weights are those tensors
 * fused as the layout says (q|k|v rows and biases, gate|up rows, the tied LM head being the embedding table).
 */
class WeightLayoutTest {

    private static Path fixture(String name) throws Exception {
        final URL url = WeightLayoutTest.class.getResource("/fixtures/" + name);
        return Path.of(url.toURI());
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3"})
    void layoutNamesExactlyTheCheckpointsTensorsWithTheirShapes(String name) throws Exception {
        final Path dir = fixture(name);
        final WeightLayout layout = WeightLayout.of(ModelConfig.load(dir));
        final Map<String, String> expected = new TreeMap<>();
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(WeightFiles.SINGLE_FILE))) {
            for (TensorInfo t : file.tensors().values()) {
                expected.put(t.name(), t.shapeString());
            }
        }
        final Map<String, String> described = new TreeMap<>();
        for (WeightLayout.Tensor t : layout.tensors()) {
            described.put(t.name(), new TensorInfo(t.name(), DType.F32, t.shape(), 0, 0).shapeString());
        }
        assertEquals(expected, described);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3"})
    void cpuWeightsAreTheCheckpointsTensorsFusedAsTheLayoutSays(String name) throws Exception {
        final Path dir = fixture(name);
        final ModelConfig c = ModelConfig.load(dir);
        try (WeightFiles files = WeightFiles.open(dir)) {
            final DecoderWeights<float[], float[], CpuLinear> w = CpuWeights.load(files, c);
            for (int l = 0; l < c.numLayers(); l++) {
                final DecoderWeights.Layer<float[], CpuLinear> layer = w.layer(l);
                final Fp32Linear qkv = (Fp32Linear) layer.qkv();
                final String attn = "model.layers." + l + ".self_attn.";
                final long hidden = c.hiddenSize();
                assertEquals(c.qDim() + 2 * c.kvDim(), qkv.outFeatures());
                assertArrayEquals(concat(files.read(attn + "q_proj.weight", c.qDim(), hidden),
                        files.read(attn + "k_proj.weight", c.kvDim(), hidden),
                        files.read(attn + "v_proj.weight", c.kvDim(), hidden)), qkv.weight(), "layer " + l + " qkv");
                if (c.qkvBias()) {
                    assertArrayEquals(concat(files.read(attn + "q_proj.bias", c.qDim()),
                            files.read(attn + "k_proj.bias", c.kvDim()), files.read(attn + "v_proj.bias", c.kvDim())),
                            qkv.bias(), "layer " + l + " qkv bias");
                } else {
                    assertNull(qkv.bias());
                }
                final Fp32Linear gateUp = (Fp32Linear) layer.gateUp();
                final String p = "model.layers." + l + ".mlp.";
                final long[] shape = {c.intermediateSize(), hidden};
                assertArrayEquals(concat(files.read(p + "gate_proj.weight", shape), files.read(p + "up_proj.weight",
                        shape)), gateUp.weight(), "layer " + l + " gate rows, then up rows");
                assertEquals(c.qkNorm(), layer.qNorm() != null);
                assertEquals(c.qkNorm(), layer.kNorm() != null);
            }
            final Fp32Linear lmHead = (Fp32Linear) w.lmHead();
            if (c.tieWordEmbeddings()) {
                assertSame(w.embedding(), lmHead.weight());
            } else {
                assertArrayEquals(files.read("lm_head.weight", c.vocabSize(), c.hiddenSize()), lmHead.weight());
            }
        }
    }

    private static float[] concat(float[]... parts) {
        int length = 0;
        for (float[] p : parts) {
            length += p.length;
        }
        final float[] all = new float[length];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }
}
