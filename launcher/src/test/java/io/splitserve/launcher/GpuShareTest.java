package io.splitserve.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Nodes sharing a GPU each size their KV pool from the memory free when they start; the shares they are given
 * leave each of them the same part of what was free before the first started.
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
}
