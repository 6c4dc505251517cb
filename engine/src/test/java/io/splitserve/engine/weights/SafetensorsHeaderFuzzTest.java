package io.splitserve.engine.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.splitserve.model.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzz target for the safetensors header parser: any file content opens (and then every tensor it lists reads as
 * shape-many floats) or is refused with a {@link ModelLoadException} naming the file, never another exception. A plain
 * build runs the committed inputs under
 * {@code src/test/resources/io/splitserve/engine/weights/SafetensorsHeaderFuzzTestInputs/}; {@code JAZZER_FUZZ=1}
 * fuzzes (DESIGN.md, Testing).
 */
class SafetensorsHeaderFuzzTest {
    private static Path file;

    @BeforeAll
    static void createFile() throws IOException {
        file = Files.createTempFile("fuzz", ".safetensors");
    }

    @AfterAll
    static void deleteFile() throws IOException {
        Files.deleteIfExists(file);
    }

    @FuzzTest(maxDuration = "3m")
    void anyFileOpensOrIsRefusedWithAReason(byte[] content) throws IOException {
        Files.write(file, content);
        try (SafetensorsFile weights = SafetensorsFile.open(file)) {
            for (TensorInfo tensor : weights.tensors().values()) {
                long elements = 1;
                for (long dim : tensor.shape()) {
                    elements *= dim;
                }
                if (elements <= 1 << 16) {
                    assertEquals(elements, weights.readFloats(tensor).length);
                }
            }
        } catch (ModelLoadException e) {
            assertNotNull(e.getMessage());
        }
    }
}
