package io.splitserve.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Buffers come in few sizes: powers of two from 1 MiB, each holding what was asked, up to one buffer's limit. */
class PinnedSizesTest {
    private static final long MIB = 1L << 20;

    @Test
    void sizeClassesArePowersOfTwoFromOneMebibyteThatHoldTheRequest() {
        assertEquals(MIB, PinnedSizes.sizeClass(1));
        assertEquals(MIB, PinnedSizes.sizeClass(MIB));
        assertEquals(2 * MIB, PinnedSizes.sizeClass(MIB + 1));
        assertEquals(64 * MIB, PinnedSizes.sizeClass(56 * MIB + 5));
        assertEquals(64 * MIB, PinnedSizes.sizeClass(64 * MIB));
        assertEquals(1L << 30, PinnedSizes.sizeClass((1L << 30) - 7));
    }

    @Test
    void aRequestAboveTheLargestPowerThatFitsOneBufferKeepsItsOwnSize() {
        final long big = (1L << 30) + 12345;
        assertEquals(big, PinnedSizes.sizeClass(big));
    }
}
