package io.splitserve.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.kernels.cuda.CudaDevice;
import org.junit.jupiter.api.Test;

/**
 * Choosing the backend: names parse with a clear error; {@code auto} falls back to the CPU with a one-line reason
 * (no GPU here, or, on a GPU machine, a fixture whose head size the CUDA kernels do not take) and still computes
 * the CPU engine's logits; {@code cuda} refuses in one line where it cannot run.
 */
class BackendChoiceTest {

    @Test
    void backendNamesParseInAnyCase() {
        assertEquals(Backend.CUDA, Backend.parse("CUDA"));
        assertEquals(Backend.AUTO, Backend.parse(" auto"));
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backend.parse("tpu"));
        assertEquals("unknown backend 'tpu': expected cpu, cuda or auto", e.getMessage());
    }

    @Test
    void autoFallsBackToTheCpuSayingWhy() throws Exception {
        final GoldenFixture fixture = new GoldenFixture("qwen2");
        final float[][] cpuLogits;
        try (Engine cpu = Engine.load(fixture.dir, new EngineOptions())) {
            assertEquals("cpu", cpu.backend());
            cpuLogits = cpu.promptLogits(fixture.prompts[0]);
        }
        try (Engine auto = Engine.load(fixture.dir, new EngineOptions().backend(Backend.AUTO))) {
            final String expected = CudaDevice.unavailableReason() != null
                    ? "cpu (auto: " + CudaDevice.unavailableReason() + ")"
                    : "cpu (auto: CUDA backend cannot run this model: the CUDA backend supports head dim 64 or 128;"
                            + " this model has 16)";
            assertEquals(expected, auto.backend());
            final float[][] autoLogits = auto.promptLogits(fixture.prompts[0]);
            for (int t = 0; t < cpuLogits.length; t++) {
                assertTrue(java.util.Arrays.equals(cpuLogits[t], autoLogits[t]), "row " + t);
            }
        }
    }

    @Test
    void cudaRefusesInOneLineWhereItCannotRun() throws Exception {
        final GoldenFixture fixture = new GoldenFixture("llama");
        final RuntimeException e = assertThrows(RuntimeException.class,
                () -> Engine.load(fixture.dir, new EngineOptions().backend(Backend.CUDA)));
        assertTrue(e.getMessage().startsWith("CUDA backend unavailable: ")
                || e.getMessage().startsWith("the CUDA backend supports head dim 64 or 128"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }
}
