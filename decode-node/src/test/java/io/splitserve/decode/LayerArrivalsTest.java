package io.splitserve.decode;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * A layer is complete on exactly the write that gives both its K and V all their bytes, in whatever order layers,
 * parts and pieces arrive, and only once, however many bytes follow.
 */
class LayerArrivalsTest {

    @Test
    void aLayerCompletesOnTheWriteThatFillsItsLastPart() {
        final LayerArrivals arrivals = new LayerArrivals(3, 10);
        assertFalse(arrivals.add(2, true, 10), "layer 2's V alone");
        assertFalse(arrivals.add(1, false, 3));
        assertFalse(arrivals.add(2, false, 9), "a byte of layer 2's K is missing");
        assertFalse(arrivals.isComplete(2));
        assertTrue(arrivals.add(2, false, 1), "layer 2 before layers 0 and 1");
        assertTrue(arrivals.isComplete(2));
        assertFalse(arrivals.add(1, true, 10));
        assertTrue(arrivals.add(1, false, 7));
        assertFalse(arrivals.isComplete(0));
        assertFalse(arrivals.add(0, false, 10));
        assertTrue(arrivals.add(0, true, 10));
    }

    @Test
    void aLayerIsReportedCompleteOnlyOnce() {
        final LayerArrivals arrivals = new LayerArrivals(1, 4);
        assertFalse(arrivals.add(0, false, 4));
        assertTrue(arrivals.add(0, true, 4));
        assertFalse(arrivals.add(0, true, 4), "bytes written again do not complete it again");
        assertTrue(arrivals.isComplete(0));
    }
}
