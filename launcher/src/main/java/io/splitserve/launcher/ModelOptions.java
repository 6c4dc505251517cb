package io.splitserve.launcher;

import io.splitserve.engine.demo.DemoModel;
import io.splitserve.engine.forward.CpuKvCache;
import io.splitserve.engine.model.ModelConfig;
import io.splitserve.engine.model.ModelLoadException;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The model and KV-cache options every serving role shares (a picocli mixin). */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR",
        description = "Hugging Face model directory (config.json, *.safetensors, tokenizer.json). Default: the demo model.")
    Path model;

    @Option(names = "--served-model-name", paramLabel = "NAME",
        description = "Model name clients must use (default: the model directory's name).")
    String servedModelName;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "cpu",
        description = "Compute backend of the nodes: cpu (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--page-size", paramLabel = "N", defaultValue = "16",
        description = "KV cache page size in tokens (default: ${DEFAULT-VALUE}).")
    int pageSize;

    @Option(names = "--mem-fraction", paramLabel = "F", defaultValue = "0.3",
        description = "Fraction of the JVM's max heap the KV caches of this process may use, split evenly across its"
            + " nodes (default: ${DEFAULT-VALUE}).")
    double memFraction;

    Path modelDir() throws IOException {
        if (!backend.equals("cpu")) {
            throw new IllegalArgumentException("--backend " + backend + " is not available for serving; use cpu");
        }
        if (!(memFraction > 0 && memFraction < 1)) {
            throw new IllegalArgumentException("--mem-fraction must be between 0 and 1, got " + memFraction);
        }
        if (pageSize <= 0) {
            throw new IllegalArgumentException("--page-size must be positive, got " + pageSize);
        }
        return model != null ? model : DemoModel.ensure(DemoModel.defaultLocation());
    }

    String servedName(Path dir) {
        return servedModelName != null ? servedModelName : model == null ? "demo" : dir.getFileName().toString();
    }

    /** KV bytes for one of {@code nodes} nodes of this process: at least one page's worth. */
    long kvBytesPerNode(Path dir, int nodes) throws ModelLoadException {
        final ModelConfig config = ModelConfig.load(dir);
        final long perPage = CpuKvCache.bytesPerPage(config.numLayers(), pageSize, config.numKvHeads(), config.headDim());
        return Math.max(perPage, (long) (Runtime.getRuntime().maxMemory() * memFraction / Math.max(1, nodes)));
    }
}
