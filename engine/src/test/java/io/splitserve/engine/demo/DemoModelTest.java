package io.splitserve.engine.demo;

import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.tokenizer.ChatTemplate;
import io.splitserve.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DemoModelTest {

    @Test
    void theDemoModelIsACompleteHuggingFaceDirectoryThatTheEngineLoads(@TempDir Path tmp) throws Exception {
        Path dir = DemoModel.ensure(tmp.resolve("demo"));
        for (String f : List.of("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        Tokenizer tokenizer = Tokenizer.load(dir.resolve("tokenizer.json"));
        ChatTemplate.load(dir.resolve("tokenizer_config.json"));
        try (Engine engine = Engine.load(dir, new EngineOptions())) {
            assertEquals(tokenizer.vocabSize(), engine.config().vocabSize());
            assertTrue(engine.stopTokenIds().length > 0, "the demo model has end-of-turn tokens");
        }
        try (var leftovers = Files.list(tmp)) {
            assertEquals(List.of(dir), leftovers.toList(), "no partial directory is left behind");
        }
    }

    @Test
    void theSameVersionAlwaysWritesTheSameBytes(@TempDir Path tmp) throws Exception {
        Path a = DemoModel.ensure(tmp.resolve("a"));
        Path b = DemoModel.ensure(tmp.resolve("b"));
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
        }
    }

    @Test
    void anExistingCompleteDirectoryIsReusedUntouched(@TempDir Path tmp) throws Exception {
        Path dir = DemoModel.ensure(tmp.resolve("demo"));
        long modified = Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis();
        Thread.sleep(20);
        DemoModel.ensure(dir);
        assertEquals(modified, Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis());
    }
}
