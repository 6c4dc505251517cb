package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Nodes sharing a GPU each size their KV pool from the memory free when they start; the shares they are given
 * leave each of them the same part of what was free before the first started. Nodes take GPUs in turn from their
 * role's list, and each knows its place among the nodes of its GPU.
 */
class GpuShareTest {
    @Test
    void nodesStartedInTurnEachGetAnEqualPartOfTheTotal() {
        for (int n = 1; n <= 5; n++) {
            double free = 1.0;
            for (int k = 0; k < n; k++) {
                final double share = ModelOptions.gpuShare(0.85, k, n);
                assertTrue(share > 0 && share < 1, "a memory fraction in (0, 1): " + share);
                final double taken = share * free;
                assertEquals(0.85 / n, taken, 1e-12, "node " + k + " of " + n);
                free -= taken;
            }
            assertEquals(0.15, free, 1e-12, "what the total leaves stays free");
        }
    }

    @Test
    void nodesTakeTheirRolesGpusInTurnAndCountTheNodesSharingEach() {
        final GpuPlacement disaggregated = new GpuPlacement(new int[] {0}, 1, new int[] {1}, 1);
        assertEquals(new GpuPlacement.Slot(0, 0, 1), disaggregated.prefill(0));
        assertEquals(new GpuPlacement.Slot(1, 0, 1), disaggregated.decode(0));

        final GpuPlacement oneGpu = new GpuPlacement(new int[] {0}, 1, new int[] {0}, 1);
        assertEquals(new GpuPlacement.Slot(0, 0, 2), oneGpu.prefill(0), "prefill nodes start first");
        assertEquals(new GpuPlacement.Slot(0, 1, 2), oneGpu.decode(0));

        final GpuPlacement colocatedPair = new GpuPlacement(new int[] {0}, 0, new int[] {0, 1}, 2);
        assertEquals(new GpuPlacement.Slot(0, 0, 1), colocatedPair.decode(0));
        assertEquals(new GpuPlacement.Slot(1, 0, 1), colocatedPair.decode(1));

        final GpuPlacement threeOnTwo = new GpuPlacement(new int[] {1}, 1, new int[] {0, 1}, 3);
        assertEquals(new GpuPlacement.Slot(1, 0, 2), threeOnTwo.prefill(0));
        assertEquals(new GpuPlacement.Slot(0, 0, 2), threeOnTwo.decode(0));
        assertEquals(new GpuPlacement.Slot(1, 1, 2), threeOnTwo.decode(1));
        assertEquals(new GpuPlacement.Slot(0, 1, 2), threeOnTwo.decode(2));
    }

    @Test
    void negativeOrdinalsAndEmptyListsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new GpuPlacement(new int[] {-1}, 1, new int[] {0}, 1));
        assertThrows(IllegalArgumentException.class, () -> new GpuPlacement(new int[] {0}, 1, new int[0], 1));
    }
}
