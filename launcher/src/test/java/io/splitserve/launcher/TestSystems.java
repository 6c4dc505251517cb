package io.splitserve.launcher;

import io.splitserve.engine.Backend;
import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.demo.DemoModel;
import io.splitserve.engine.generate.GenerationRequest;
import io.splitserve.engine.generate.GenerationResult;
import io.splitserve.engine.generate.TextGenerator;
import io.splitserve.model.SamplingParams;
import io.splitserve.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Shared pieces of the serving tests: the demo model (created once under target/) and unique Aeron directories. */
final class TestSystems {
    private TestSystems() {}

    static synchronized Path demoModel() throws IOException {
        return DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
    }

    static String aeronDir(String name) {
        return Path.of("target", "aeron", name + "-" + System.nanoTime()).toAbsolutePath().toString();
    }

    static ServingSystem.Options options(String name) throws IOException {
        return new ServingSystem.Options().modelDir(demoModel()).aeronDir(aeronDir(name));
    }

    /** Greedy generation of {@code prompt} on one CUDA engine over {@code model}: the reference served runs match. */
    static GenerationResult oneCudaEngine(Path model, String prompt, int maxTokens) throws Exception {
        try (Engine engine = Engine.load(model, new EngineOptions().backend(Backend.CUDA).maxPages(512))) {
            final Tokenizer tokenizer = Tokenizer.load(model.resolve("tokenizer.json"));
            return new TextGenerator(engine, tokenizer).generate(new GenerationRequest(tokenizer.encode(prompt, true),
                    SamplingParams.greedy(), maxTokens, List.of(), engine.stopTokenIds()), piece -> { });
        }
    }
}
