package io.splitserve.engine.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitserve.model.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The safetensors weights of a model directory as one name space: either {@code model.safetensors} or the shards
 * listed by {@code model.safetensors.index.json} ({@code weight_map}: tensor name to shard file). Reads check the
 * tensor's presence and shape, so a mismatch with the configuration is reported by name, never as an index error
 * deep in the forward pass.
 */
public final class WeightFiles implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Map<String, SafetensorsFile> fileByTensor;
    private final Map<String, SafetensorsFile> openFiles;

    private WeightFiles(Map<String, SafetensorsFile> fileByTensor, Map<String, SafetensorsFile> openFiles) {
        this.fileByTensor = fileByTensor;
        this.openFiles = openFiles;
    }

    public static WeightFiles open(Path modelDir) throws ModelLoadException {
        final Path index = modelDir.resolve(INDEX_FILE);
        final Path single = modelDir.resolve(SINGLE_FILE);
        final Map<String, SafetensorsFile> openFiles = new LinkedHashMap<>();
        final Map<String, SafetensorsFile> fileByTensor = new LinkedHashMap<>();
        try {
            if (Files.isRegularFile(index)) {
                for (Map.Entry<String, String> e : readWeightMap(index).entrySet()) {
                    SafetensorsFile shard = openFiles.get(e.getValue());
                    if (shard == null) {
                        shard = SafetensorsFile.open(modelDir.resolve(e.getValue()));
                        openFiles.put(e.getValue(), shard);
                    }
                    if (!shard.tensors().containsKey(e.getKey())) {
                        throw new ModelLoadException(index + ": names '" + e.getKey() + "' in " + e.getValue()
                                + ", which does not hold it");
                    }
                    fileByTensor.put(e.getKey(), shard);
                }
            } else if (Files.isRegularFile(single)) {
                final SafetensorsFile file = SafetensorsFile.open(single);
                openFiles.put(SINGLE_FILE, file);
                for (String name : file.tensors().keySet()) {
                    fileByTensor.put(name, file);
                }
            } else {
                throw new ModelLoadException(modelDir + ": missing weights: neither " + SINGLE_FILE + " nor "
                        + INDEX_FILE);
            }
        } catch (ModelLoadException e) {
            openFiles.values().forEach(SafetensorsFile::close);
            throw e;
        }
        return new WeightFiles(fileByTensor, openFiles);
    }

    private static Map<String, String> readWeightMap(Path index) throws ModelLoadException {
        final JsonNode root;
        try {
            root = new ObjectMapper().readTree(index.toFile());
        } catch (IOException e) {
            throw new ModelLoadException(index + ": not valid JSON");
        }
        final JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new ModelLoadException(index + ": no weight_map object");
        }
        final Map<String, String> weightMap = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            final Map.Entry<String, JsonNode> e = it.next();
            final String file = e.getValue().asText();
            if (file.isEmpty() || file.contains("/") || file.contains("\\")) {
                throw new ModelLoadException(index + ": bad shard file name '" + file + "' for " + e.getKey());
            }
            weightMap.put(e.getKey(), file);
        }
        return weightMap;
    }

    public boolean contains(String name) {
        return fileByTensor.containsKey(name);
    }

    /** Reads a tensor as fp32 after checking that it exists and has exactly {@code expectedShape}. */
    public float[] read(String name, long... expectedShape) throws ModelLoadException {
        final SafetensorsFile file = fileByTensor.get(name);
        if (file == null) {
            throw new ModelLoadException("missing tensor '" + name + "' in the model's safetensors");
        }
        final TensorInfo info = file.tensors().get(name);
        if (!Arrays.equals(info.shape(), expectedShape)) {
            throw new ModelLoadException(file.path() + ": tensor '" + name + "' has shape " + info.shapeString()
                    + " but the config needs " + Arrays.toString(expectedShape));
        }
        return file.readFloats(info);
    }

    /** The stored dtype of a tensor (to report what the checkpoint holds), or null if absent. */
    public DType dtypeOf(String name) {
        final SafetensorsFile file = fileByTensor.get(name);
        return file == null ? null : file.tensors().get(name).dtype();
    }

    @Override
    public void close() {
        openFiles.values().forEach(SafetensorsFile::close);
    }
}
