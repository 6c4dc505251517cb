package io.splitserve.launcher;

import io.splitserve.engine.Backend;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.demo.DemoModel;
import io.splitserve.engine.forward.CpuKvCache;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelLoadException;
import io.splitserve.kernels.cuda.CudaDevice;
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
        description = "Compute backend of the nodes: cpu, cuda, or auto (CUDA where a GPU, the built kernels and a"
            + " supported head size are there, else the CPU) (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--gpu", paramLabel = "N", defaultValue = "0",
        description = "Ordinal of the GPU the CUDA backend runs on (default: ${DEFAULT-VALUE}).")
    int gpu;

    @Option(names = "--page-size", paramLabel = "N", defaultValue = "16",
        description = "KV cache page size in tokens (default: ${DEFAULT-VALUE}).")
    int pageSize;

    @Option(names = "--mem-fraction", paramLabel = "F",
        description = "Memory for KV caches, split evenly across the nodes sharing it: on the CPU the fraction of the"
            + " JVM's max heap (default " + CPU_MEM_FRACTION + "), on CUDA the fraction of the GPU's memory still free"
            + " after weights and buffers (default " + EngineOptions.DEFAULT_MEM_FRACTION + ").")
    Double memFraction;

    static final double CPU_MEM_FRACTION = 0.3;

    Path modelDir() throws IOException {
        final Backend chosen = backend();
        if (chosen == Backend.CUDA && CudaDevice.unavailableReason() != null) {
            throw new IllegalArgumentException("--backend cuda cannot run here: " + CudaDevice.unavailableReason());
        }
        if (gpu < 0) {
            throw new IllegalArgumentException("--gpu must be 0 or more, got " + gpu);
        }
        if (memFraction != null && !(memFraction > 0 && memFraction < 1)) {
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

    Backend backend() {
        return Backend.parse(backend);
    }

    /** Share of free GPU memory for KV that the whole GPU gives its nodes. */
    double gpuMemFraction() {
        return memFraction != null ? memFraction : EngineOptions.DEFAULT_MEM_FRACTION;
    }

    /** CPU KV bytes for one of {@code nodes} nodes of this process: at least one page's worth. */
    long kvBytesPerNode(Path dir, int nodes) throws ModelLoadException {
        final ModelConfig config = ModelConfig.load(dir);
        final long perPage = CpuKvCache.bytesPerPage(config.numLayers(), pageSize, config.numKvHeads(), config.headDim());
        final double fraction = memFraction != null ? memFraction : CPU_MEM_FRACTION;
        return Math.max(perPage, (long) (Runtime.getRuntime().maxMemory() * fraction / Math.max(1, nodes)));
    }

    /** Engine options of the one node of a standalone role process. */
    EngineOptions standaloneEngineOptions(Path dir) throws ModelLoadException {
        return new EngineOptions().backend(backend()).gpu(gpu).pageSize(pageSize).kvCacheBytes(kvBytesPerNode(dir, 1))
                .memFraction(gpuMemFraction());
    }

    /**
     * The share of the memory free when it starts that node {@code k} (0-based, in start order) of {@code n} nodes on
     * one GPU takes, so that each ends up with about {@code total / n} of what was free before the first: every node
     * sizes its pool from what is free when it starts (what earlier nodes' weights take is not corrected for).
     */
    static double gpuShare(double total, int k, int n) {
        final double each = total / n;
        return each / (1 - k * each);
    }
}
