package io.splitserve.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Which graph shapes a decode step maps to: padded batch buckets and power-of-two context buckets. */
class DecodeBucketsTest {

    @Test
    void batchBucketsEndAtTheRunningLimitAndPadUpwards() {
        final DecodeBuckets b = new DecodeBuckets(40, 4096, 16);
        assertEquals(8, b.batchCount());
        assertEquals(40, b.maxBatch());
        assertEquals(1, b.batchSize(b.batchIndex(1)));
        assertEquals(4, b.batchSize(b.batchIndex(3)));
        assertEquals(24, b.batchSize(b.batchIndex(17)));
        assertEquals(40, b.batchSize(b.batchIndex(33)));
        assertEquals(-1, b.batchIndex(41));
        assertEquals(256, new DecodeBuckets(256, 4096, 16).maxBatch());
    }

    @Test
    void contextBucketsArePowersOfTwoUpToTheLongestContextInWholePages() {
        final DecodeBuckets b = new DecodeBuckets(8, 1000, 16);
        assertEquals(2, b.contextCount());
        assertEquals(512, b.contextLength(0));
        assertEquals(1008, b.contextLength(1));
        assertEquals(0, b.contextIndex(1));
        assertEquals(0, b.contextIndex(512));
        assertEquals(1, b.contextIndex(513));
        assertEquals(-1, b.contextIndex(1009));
        final DecodeBuckets small = new DecodeBuckets(8, 300, 16);
        assertEquals(1, small.contextCount());
        assertEquals(304, small.contextLength(0));
        final DecodeBuckets large = new DecodeBuckets(8, 32768, 16);
        assertEquals(7, large.contextCount());
        assertEquals(32768, large.contextLength(6));
    }
}
