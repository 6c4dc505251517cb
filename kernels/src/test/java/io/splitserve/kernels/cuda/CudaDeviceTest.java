package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;

import io.splitserve.kernels.cpu.CpuOps;

/** The device layer: the fatbin loads, the device reports itself, and a captured graph replays on new data. */
@GpuTest
class CudaDeviceTest {
    @Test
    void deviceOpensAndLoadsTheKernelModule() {
        assertNull(CudaDevice.unavailableReason());
        CudaDevice device = Gpu.device();
        assertTrue(device.multiprocessorCount() > 0, "multiprocessors " + device.multiprocessorCount());
        assertTrue(device.computeCapability() >= 80, "compute capability " + device.computeCapability());
        for (String k : new String[] {"embedding_gather", "rmsnorm", "add_rmsnorm", "head_rmsnorm", "rope_neox",
            "silu_and_mul", "bias_add", "kv_write", "decode_attention_partial_hd64", "decode_attention_partial_hd128",
            "decode_attention_reduce", "prefill_attention_hd64", "prefill_attention_hd128", "sample_tokens"}) {
            device.function(k);
        }
        System.out.println("GPU: " + device.name() + ", " + device.multiprocessorCount() + " SMs, sm_"
                + device.computeCapability());
    }

    @Test
    void capturedGraphReplaysWithDataChangedInDeviceMemory() throws Exception {
        CudaDevice device = Gpu.device();
        CudaStream stream = Gpu.stream();
        Random rnd = new Random();
        int vocab = 100, hidden = 256, tokens = 7;
        EmbeddingKernel kernel = new EmbeddingKernel(device);
        try (Gpu.Scope s = new Gpu.Scope()) {
            float[] table = Gpu.randomBf16(rnd, vocab * hidden, 1f);
            DeviceBuffer tableD = Gpu.bf16(s, table);
            DeviceBuffer ids = s.add(DeviceBuffer.allocate(4L * tokens));
            DeviceBuffer out = s.add(DeviceBuffer.allocate(2L * tokens * hidden));
            try (CudaGraph graph = CudaGraph.capture(stream,
                    () -> kernel.gather(stream, out.address(), tableD.address(), ids.address(), tokens, hidden, vocab))) {
                for (int round = 0; round < 3; round++) {
                    int[] idValues = rnd.ints(tokens, 0, vocab).toArray();
                    ids.copyFrom(idValues);
                    out.fillBytes((byte) 0xff, stream);
                    graph.replay(stream);
                    float[] ref = new float[tokens * hidden];
                    CpuOps.embed(idValues, tokens, table, hidden, ref);
                    assertArrayEquals(ref, Gpu.readBf16(out, tokens * hidden), 0f, "replay " + round);
                }
            }
        }
    }
}
