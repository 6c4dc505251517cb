package io.splitserve.engine.cuda;

/**
 * The shapes decode graphs are captured for: batch-size buckets (the largest is exactly the running-sequence
 * limit; a step is padded up to the next bucket) and context-length buckets (powers of two from 512 up to the
 * longest context the pool or the model allows; the attention grid depends on the bucket, the real lengths are
 * read from device memory at replay).
 */
final class DecodeBuckets {
    private static final int[] BATCH = {1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 160, 192, 256};
    private static final int MIN_CONTEXT = 512;

    private final int[] batch;
    private final int[] context;

    DecodeBuckets(int maxBatch, int maxContext, int pageSize) {
        int n = 0;
        while (n < BATCH.length && BATCH[n] < maxBatch) {
            n++;
        }
        batch = new int[n + 1];
        System.arraycopy(BATCH, 0, batch, 0, n);
        batch[n] = maxBatch; // the largest bucket is exactly the running-sequence limit
        final int top = (maxContext + pageSize - 1) / pageSize * pageSize;
        int count = 1;
        for (long c = MIN_CONTEXT; c < top; c *= 2) {
            count++;
        }
        context = new int[count];
        long c = MIN_CONTEXT;
        for (int i = 0; i < count - 1; i++, c *= 2) {
            context[i] = (int) c;
        }
        context[count - 1] = top;
    }

    int batchCount() {
        return batch.length;
    }

    int contextCount() {
        return context.length;
    }

    int maxBatch() {
        return batch[batch.length - 1];
    }

    int batchSize(int index) {
        return batch[index];
    }

    int contextLength(int index) {
        return context[index];
    }

    /** Index of the smallest batch bucket holding {@code sequences}, or -1 when none does. */
    int batchIndex(int sequences) {
        for (int i = 0; i < batch.length; i++) {
            if (batch[i] >= sequences) {
                return i;
            }
        }
        return -1;
    }

    /** Index of the smallest context bucket holding {@code length}, or -1 when none does. */
    int contextIndex(int length) {
        for (int i = 0; i < context.length; i++) {
            if (context[i] >= length) {
                return i;
            }
        }
        return -1;
    }
}
