package io.splitserve.engine;

import io.splitserve.engine.cuda.CudaModelRunner;
import io.splitserve.engine.forward.CpuKvCache;
import io.splitserve.engine.forward.CpuModelRunner;
import io.splitserve.engine.forward.CpuWeights;
import io.splitserve.engine.forward.ModelRunner;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.ModelLoadException;
import io.splitserve.kernels.cuda.CudaDevice;
import java.nio.file.Path;

/**
 * Opens the {@link ModelRunner} that {@link EngineOptions#backend()} asks for. {@link Backend#AUTO} takes CUDA when
 * a GPU and the built kernels are present and the model fits the kernels, and otherwise the CPU, naming in one line
 * why; {@link Backend#CUDA} fails with that line instead.
 */
final class RunnerFactory {
    /** The opened runner and a one-line description of the choice. */
    record Choice(ModelRunner runner, String description) {
    }

    private RunnerFactory() {
    }

    static Choice open(Path modelDir, ModelConfig config, EngineOptions options) throws ModelLoadException {
        switch (options.backend()) {
            case CPU:
                return cpu(modelDir, config, options, "cpu");
            case CUDA: {
                final ModelRunner runner = CudaModelRunner.open(modelDir, config, options);
                return new Choice(runner, runner.description());
            }
            default: {
                final String unavailable = CudaDevice.unavailableReason();
                if (unavailable != null) {
                    return cpu(modelDir, config, options, "cpu (auto: " + unavailable + ")");
                }
                try {
                    final ModelRunner runner = CudaModelRunner.open(modelDir, config, options);
                    return new Choice(runner, runner.description() + " (auto)");
                } catch (IllegalArgumentException | IllegalStateException e) {
                    return cpu(modelDir, config, options, "cpu (auto: CUDA backend cannot run this model: "
                            + e.getMessage() + ")");
                }
            }
        }
    }

    private static Choice cpu(Path modelDir, ModelConfig config, EngineOptions options, String description)
            throws ModelLoadException {
        final int pages = cpuPageCount(config, options);
        return new Choice(new CpuModelRunner(config, CpuWeights.load(modelDir, config), new CpuKvCache(config.numLayers(), pages,
                options.pageSize(), config.numKvHeads(), config.headDim())), description);
    }

    private static int cpuPageCount(ModelConfig config, EngineOptions options) {
        final int limit = CpuKvCache.maxPages(options.pageSize(), config.numKvHeads(), config.headDim());
        if (options.maxPages() > 0) {
            if (options.maxPages() > limit) {
                throw new IllegalArgumentException("max pages " + options.maxPages() + " exceeds " + limit
                        + " for this model and page size");
            }
            return options.maxPages();
        }
        final long perPage = CpuKvCache.bytesPerPage(config.numLayers(), options.pageSize(), config.numKvHeads(),
                config.headDim());
        return (int) Math.max(1, Math.min(limit, options.kvCacheBytes() / perPage));
    }
}
