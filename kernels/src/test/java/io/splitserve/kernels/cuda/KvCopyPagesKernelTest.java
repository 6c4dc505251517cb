package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.splitserve.kernels.cpu.CpuOps;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The page copy kernel against {@link CpuOps#copyPageRows}, bit for bit: copies between shuffled, non-contiguous
 * pages with odd row counts (one row up to all but one), over every part of several layers in one launch, every
 * other slot of each pool left as it was.
 */
@GpuTest
class KvCopyPagesKernelTest {
    private final Random rnd = new Random(7);

    @Test
    void copiesLeadingRowsBetweenShuffledPagesOfEveryLayerPartInOneLaunch() throws Exception {
        KvCopyPagesKernel kernel = new KvCopyPagesKernel(Gpu.device());
        // layers, pages, page size, kv width, copies
        for (int[] shape : new int[][] {{1, 4, 2, 64, 1}, {3, 40, 5, 128, 9}, {4, 64, 16, 256, 25}, {2, 9, 1, 8, 4}}) {
            int layers = shape[0], pages = shape[1], pageSize = shape[2], width = shape[3], count = shape[4];
            int[] order = TestPages.shuffled(rnd, pages);
            int[] copies = new int[3 * count];
            for (int c = 0; c < count; c++) {
                copies[3 * c] = order[2 * c]; // sources and destinations drawn apart: no destination is a source
                copies[3 * c + 1] = order[2 * c + 1];
                copies[3 * c + 2] = pageSize == 1 ? 1 : 1 + 2 * rnd.nextInt(pageSize / 2); // odd row counts
            }
            try (Gpu.Scope s = new Gpu.Scope()) {
                int parts = 2 * layers;
                float[][] pools = new float[parts][];
                DeviceBuffer[] device = new DeviceBuffer[parts];
                long[] addresses = new long[parts];
                for (int p = 0; p < parts; p++) {
                    pools[p] = Gpu.randomBf16(rnd, pages * pageSize * width, 1f);
                    device[p] = Gpu.bf16(s, pools[p]);
                    addresses[p] = device[p].address();
                }
                kernel.copy(Gpu.stream(), Gpu.longs(s, addresses).address(), parts, Gpu.ints(s, copies).address(),
                        count, pageSize, width);
                for (int p = 0; p < parts; p++) {
                    float[] expected = pools[p].clone();
                    CpuOps.copyPageRows(expected, pageSize, width, copies, count);
                    assertArrayEquals(expected, Gpu.readBf16(device[p], pages * pageSize * width), 0f,
                            "layer part " + p + " of " + layers + " layers, " + pages + " pages of " + pageSize);
                }
            }
        }
    }
}
