package io.splitserve.perf.kv;

import static io.splitserve.perf.kv.KvBenchmarkRuns.demo;
import static io.splitserve.perf.kv.KvBenchmarkRuns.print;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.engine.Engine;
import io.splitserve.engine.EngineOptions;
import io.splitserve.engine.StepOutput;
import io.splitserve.model.ModelConfig;
import io.splitserve.model.SamplingParams;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The KV streaming benchmark on the CPU backend with the demo model and short prompts: one CSV row per length whose
 * figures are real measurements (positive times, the exact KV byte count), KV streamed by its rig decoding the same
 * greedy tokens as one engine, every page back in the pool after each measured operation, and one-line errors for
 * bad command lines.
 */
@Timeout(60)
class KvStreamBenchmarkTest {
    private static final int[] LENGTHS = {16, 40};

    @TempDir
    Path tmp;

    @Test
    void writesOneRowOfPositiveMediansPerLength() throws Exception {
        final Path csv = tmp.resolve("out").resolve("kv.csv");
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int status = KvStreamBenchmark.run(new String[] {demo().toString(), csv.toString(), "--lengths", "16,40",
                "--reps", "3"}, print(out), print(err));
        assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
        final ModelConfig config = ModelConfig.load(demo());
        final List<String> lines = Files.readAllLines(csv);
        assertEquals(KvStreamBenchmark.CSV_HEADER, lines.get(0));
        assertEquals(1 + LENGTHS.length, lines.size(), String.join("\n", lines));
        for (int i = 0; i < LENGTHS.length; i++) {
            final String[] cells = lines.get(1 + i).split(",", -1);
            assertEquals(10, cells.length, lines.get(1 + i));
            assertEquals(LENGTHS[i], Integer.parseInt(cells[0]));
            final long f32KvBytes = 2L * config.numLayers() * LENGTHS[i] * config.kvDim() * Float.BYTES;
            assertEquals(f32KvBytes, Long.parseLong(cells[1]), "every layer's K and V in f32");
            for (int column : new int[] {2, 3, 5, 6, 8}) { // compute, ready, transfer, GB/s, import
                assertTrue(Double.parseDouble(cells[column]) > 0, "column " + column + " of " + lines.get(1 + i));
            }
            final double ready = Double.parseDouble(cells[3]);
            final double compute = Double.parseDouble(cells[2]);
            final double transfer = Double.parseDouble(cells[5]);
            assertEquals(ready - compute, Double.parseDouble(cells[4]), 0.0015, "exposed = ready - compute");
            assertEquals(f32KvBytes / (transfer * 1e6), Double.parseDouble(cells[6]),
                    0.002 * Double.parseDouble(cells[6]) + 0.001, "GB/s = bytes / transfer time");
            assertTrue(Double.isFinite(Double.parseDouble(cells[7])), "hidden %");
            assertEquals("", cells[9], "no peer copy on the CPU backend");
        }
        final String printed = out.toString(StandardCharsets.UTF_8);
        for (int length : LENGTHS) {
            assertTrue(printed.contains("length " + length + ": ") && printed.contains("greedy check "
                    + KvStreamBenchmark.CHECK_STEPS + "/" + KvStreamBenchmark.CHECK_STEPS), printed);
        }
    }

    @Test
    void streamedKvDecodesLikeOneEngineAndEveryPageComesBack() throws Exception {
        final int[] prompt = GreedyCheck.prompt(ModelConfig.load(demo()).vocabSize(), 23);
        final int steps = KvStreamBenchmark.CHECK_STEPS;
        final int[] alone = new int[steps];
        try (Engine one = Engine.load(demo(), new EngineOptions())) {
            final long id = one.addSequence(prompt, SamplingParams.greedy());
            for (int n = 0; n < steps; n++) {
                final StepOutput out = one.step().get(0);
                assertEquals(id, out.sequenceId());
                alone[n] = out.token();
            }
        }
        try (KvStreamRig rig = new KvStreamRig(demo(), new EngineOptions(), new EngineOptions().pageSize(3))) {
            assertArrayEquals(alone, rig.streamedGreedy(prompt, steps), "decode pages of 3 tokens, prefill of 16");
            assertArrayEquals(alone, rig.colocatedGreedy(prompt, steps));
            final UnsafeBuffer kv = new UnsafeBuffer(ByteBuffer.allocateDirect(
                    (int) rig.geometry().totalBytes(prompt.length)));
            final int first = rig.capture(prompt, kv);
            assertEquals(alone[0], first);
            final KvStreamRig.Transfer stored = rig.stored(kv, prompt.length, first);
            assertTrue(stored.importNs() > 0 && stored.readyNs() >= stored.importNs(), stored.toString());
            assertTrue(rig.streamed(prompt).readyNs() > 0);
            assertEquals(rig.decodeEngine().totalPages(), rig.decodeEngine().freePages());
            assertEquals(rig.prefillEngine().totalPages(), rig.prefillEngine().freePages());
        }
    }

    @Test
    void badCommandLinesGetOneLineErrors() throws Exception {
        final String model = demo().toString();
        final String csv = tmp.resolve("x.csv").toString();
        assertError(2, "bench kv-stream: --lengths takes whole numbers, got 'x'", model, csv, "--lengths", "12,x");
        assertError(2, "bench kv-stream: --reps must be positive, got 0", model, csv, "--reps", "0");
        assertError(2, "bench kv-stream: MODEL_DIR and OUT.csv are required", model);
        assertError(2, "bench kv-stream: unknown option --lenghts", model, csv, "--lenghts", "12");
        assertError(2, "bench kv-stream: --backend must be cpu or cuda: a benchmark names what it measures", model,
                csv, "--backend", "auto");
        assertError(1, "bench kv-stream: a prompt of 5000 tokens and 8 checked decode steps exceed the model's context"
                + " of 4096 tokens", model, csv, "--lengths", "128,5000");
        assertTrue(Files.notExists(Path.of(csv)), "no CSV after an error");
    }

    private static void assertError(int status, String firstLine, String... args) {
        KvBenchmarkRuns.assertError(KvStreamBenchmark::run, status, firstLine, args);
    }
}
