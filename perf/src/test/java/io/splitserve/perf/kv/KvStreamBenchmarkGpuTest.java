package io.splitserve.perf.kv;

import static io.splitserve.perf.kv.KvBenchmarkRuns.demo;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.splitserve.engine.Backend;
import io.splitserve.engine.EngineOptions;
import io.splitserve.kernels.cuda.GpuTest;
import io.splitserve.model.ModelConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The KV streaming benchmark on the CUDA backend: its rig's bf16 KV, streamed out of one CUDA engine into another
 * with the same page size, decodes exactly the greedy tokens the first engine decodes alone; the benchmark main
 * writes real figures for prefill on GPU 0 and decode on GPU 1 (on GPU 0 where there is only one); and where two GPUs
 * can peer, a peer copy arrives intact and is timed. Skips where no GPU is present.
 */
@GpuTest
@Timeout(300)
class KvStreamBenchmarkGpuTest {
    @TempDir
    Path tmp;

    private static int gpus() {
        final int[] count = {0};
        cuDeviceGetCount(count);
        return count[0];
    }

    @Test
    void streamedCudaKvDecodesLikeTheCudaEngineAlone() throws Exception {
        final EngineOptions cuda = new EngineOptions().backend(Backend.CUDA).maxPages(512);
        final int[] prompt = GreedyCheck.prompt(ModelConfig.load(demo()).vocabSize(), 300);
        try (KvStreamRig rig = new KvStreamRig(demo(), cuda, new EngineOptions().backend(Backend.CUDA).maxPages(512))) {
            final int[] alone = rig.colocatedGreedy(prompt, KvStreamBenchmark.CHECK_STEPS);
            assertArrayEquals(alone, rig.streamedGreedy(prompt, KvStreamBenchmark.CHECK_STEPS),
                    "the same kernels over the same bf16 bytes");
            assertTrue(rig.streamed(prompt).readyNs() > 0);
            assertEquals(rig.decodeEngine().totalPages(), rig.decodeEngine().freePages());
        }
    }

    @Test
    void benchmarkWritesFiguresForPrefillAndDecodeGpus() throws Exception {
        final int decodeGpu = gpus() >= 2 ? 1 : 0;
        final Path csv = tmp.resolve("kv.csv");
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int status = KvStreamBenchmark.run(new String[] {demo().toString(), csv.toString(), "--backend", "cuda",
                "--prefill-gpu", "0", "--decode-gpu", Integer.toString(decodeGpu), "--lengths", "64,300",
                "--reps", "3"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        final String printed = out.toString(StandardCharsets.UTF_8);
        System.out.println(printed);
        assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
        final ModelConfig config = ModelConfig.load(demo());
        final boolean peers = PeerCopyMeter.unsupportedReason(0, decodeGpu) == null;
        final List<String> lines = Files.readAllLines(csv);
        assertEquals(3, lines.size(), String.join("\n", lines));
        final int[] lengths = {64, 300};
        for (int i = 0; i < lengths.length; i++) {
            final String[] cells = lines.get(1 + i).split(",", -1);
            assertEquals(2L * config.numLayers() * lengths[i] * config.kvDim() * 2, Long.parseLong(cells[1]),
                    "every layer's K and V in bf16");
            for (int column : new int[] {2, 3, 5, 6, 8}) {
                assertTrue(Double.parseDouble(cells[column]) > 0, "column " + column + " of " + lines.get(1 + i));
            }
            if (peers) {
                assertTrue(Double.parseDouble(cells[9]) > 0, "peer GB/s in " + lines.get(1 + i));
            } else {
                assertEquals("", cells[9]);
            }
        }
        assertTrue(printed.contains("greedy check " + KvStreamBenchmark.CHECK_STEPS + "/"
                + KvStreamBenchmark.CHECK_STEPS), printed);
    }

    @Test
    void peerCopyArrivesIntactAndIsTimed() {
        assumeTrue(gpus() >= 2, "one GPU: no peer to copy to");
        final String reason = PeerCopyMeter.unsupportedReason(0, 1);
        assumeTrue(reason == null, reason);
        try (PeerCopyMeter meter = PeerCopyMeter.open(0, 1, 64L << 20)) {
            final double gbps = meter.medianGbps(64L << 20, 5);
            System.out.println("peer copy GPU 0 -> 1, 64 MiB: " + gbps + " GB/s");
            assertTrue(gbps > 0 && Double.isFinite(gbps), "GB/s " + gbps);
        }
    }
}
