package io.splitserve.engine.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.forward.CpuLinear;
import io.splitserve.engine.forward.CpuWeights;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelLoadException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Single-file and sharded weights, and the load errors a mismatching checkpoint gets. */
class WeightFilesTest {
    @TempDir
    Path dir;

    private static Path fixture(String name) throws Exception {
        final URL url = WeightFilesTest.class.getResource("/fixtures/" + name);
        return Path.of(url.toURI());
    }

    /** Copies a fixture's config.json and re-saves its weights as two shards plus an index. */
    private Path shardedCopy(String name) throws Exception {
        final Path source = fixture(name);
        Files.copy(source.resolve("config.json"), dir.resolve("config.json"));
        final StringBuilder index = new StringBuilder("{\"metadata\":{},\"weight_map\":{");
        try (SafetensorsFile single = SafetensorsFile.open(source.resolve("model.safetensors"))) {
            final List<TensorInfo> all = new ArrayList<>(single.tensors().values());
            final SafetensorsWriter[] shards = {new SafetensorsWriter(), new SafetensorsWriter()};
            for (int i = 0; i < all.size(); i++) {
                final TensorInfo t = all.get(i);
                final int shard = i < all.size() / 2 ? 0 : 1;
                shards[shard].add(t.name(), DType.F32, t.shape(), single.readFloats(t));
                index.append(i == 0 ? "" : ",").append('"').append(t.name()).append("\":\"part-").append(shard)
                        .append(".safetensors\"");
            }
            shards[0].write(dir.resolve("part-0.safetensors"));
            shards[1].write(dir.resolve("part-1.safetensors"));
        }
        Files.writeString(dir.resolve(WeightFiles.INDEX_FILE), index.append("}}").toString());
        return dir;
    }

    @Test
    void shardedWeightsLoadTheSameTensorsAsOneFile() throws Exception {
        final Path sharded = shardedCopy("qwen3");
        final ModelConfig config = ModelConfig.load(sharded);
        try (WeightFiles one = WeightFiles.open(fixture("qwen3")); WeightFiles two = WeightFiles.open(sharded)) {
            final long[] shape = {config.vocabSize(), config.hiddenSize()};
            assertArrayEquals(one.read("lm_head.weight", shape), two.read("lm_head.weight", shape));
            final long[] norm = {config.headDim()};
            assertArrayEquals(one.read("model.layers.1.self_attn.k_norm.weight", norm),
                    two.read("model.layers.1.self_attn.k_norm.weight", norm));
        }
        final DecoderWeights<float[], float[], CpuLinear> weights = CpuWeights.load(sharded, config);
        assertEquals(2 * config.intermediateSize(), weights.layer(0).gateUp().outFeatures());
    }

    @Test
    void indexNamingATensorItsShardLacksIsRejected() throws Exception {
        final Path sharded = shardedCopy("qwen3");
        final Path index = sharded.resolve(WeightFiles.INDEX_FILE);
        Files.writeString(index, Files.readString(index)
                .replace("\"model.norm.weight\":\"part-1", "\"model.norm.weight\":\"part-0"));
        final String message = assertThrows(ModelLoadException.class, () -> WeightFiles.open(sharded)).getMessage();
        assertTrue(message.endsWith("names 'model.norm.weight' in part-0.safetensors, which does not hold it"),
                message);
    }

    @Test
    void missingShardIsReportedByName() throws Exception {
        final Path sharded = shardedCopy("qwen3");
        Files.delete(sharded.resolve("part-1.safetensors"));
        assertEquals(sharded.resolve("part-1.safetensors") + ": file not found",
                assertThrows(ModelLoadException.class, () -> WeightFiles.open(sharded)).getMessage());
    }

    @Test
    void directoryWithoutWeightsIsRejected() {
        assertEquals(dir + ": missing weights: neither model.safetensors nor model.safetensors.index.json",
                assertThrows(ModelLoadException.class, () -> WeightFiles.open(dir)).getMessage());
    }

    @Test
    void tensorShapeMismatchNamesTensorAndBothShapes() throws Exception {
        final Path source = fixture("llama");
        Files.copy(source.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        // a config claiming a wider MLP than the weights have
        Files.writeString(dir.resolve("config.json"), Files.readString(source.resolve("config.json"))
                .replace("\"intermediate_size\": 160", "\"intermediate_size\": 128"));
        final ModelConfig config = ModelConfig.load(dir);
        final String message = assertThrows(ModelLoadException.class, () -> CpuWeights.load(dir, config))
                .getMessage();
        assertTrue(message.endsWith("tensor 'model.layers.0.mlp.gate_proj.weight' has shape [160, 64] but the config"
                + " needs [128, 64]"), message);
    }

    @Test
    void missingTensorIsNamed() throws Exception {
        final Path source = fixture("llama");
        Files.copy(source.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        // untied embeddings need lm_head.weight, which this tied checkpoint does not store
        Files.writeString(dir.resolve("config.json"), Files.readString(source.resolve("config.json"))
                .replace("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false"));
        final ModelConfig config = ModelConfig.load(dir);
        assertEquals("missing tensor 'lm_head.weight' in the model's safetensors",
                assertThrows(ModelLoadException.class, () -> CpuWeights.load(dir, config)).getMessage());
    }
}
