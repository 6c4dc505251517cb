package io.splitserve.launcher;

import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.generate.GenerationRequest;
import io.splitserve.engine.generate.GenerationResult;
import io.splitserve.engine.generate.TextGenerator;
import io.splitserve.model.SamplingParams;
import io.splitserve.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;

/** What {@code splitserve generate} produces for a prompt, greedy or seeded, computed in this JVM: the expected output. */
final class Reference {
    private Reference() {}

    static GenerationResult generate(Path model, String prompt, int maxTokens) throws Exception {
        return generate(model, prompt, maxTokens, true);
    }

    static GenerationResult generate(Path model, String prompt, int maxTokens, boolean stopAtEos) throws Exception {
        return generate(model, prompt, maxTokens, stopAtEos, SamplingParams.greedy());
    }

    /** As {@link #generate(Path, String, int, boolean)}, drawing with {@code sampling} (seeded) instead. */
    static GenerationResult generate(Path model, String prompt, int maxTokens, boolean stopAtEos,
                                     SamplingParams sampling) throws Exception {
        try (Engine engine = Engine.load(model, new EngineOptions())) {
            final Tokenizer tokenizer = Tokenizer.load(model.resolve("tokenizer.json"));
            final GenerationRequest request = new GenerationRequest(tokenizer.encode(prompt, true),
                    sampling, maxTokens, List.of(), stopAtEos ? engine.stopTokenIds() : new int[0]);
            return new TextGenerator(engine, tokenizer).generate(request, piece -> { });
        }
    }
}
