package io.splitserve.engine.forward;

import java.nio.ByteBuffer;

/**
 * Host memory that one imported sequence's KV is written into as it arrives, in the wire layout
 * {@code [layers][K, V][tokens][kvHeads][headDim]} of the runner's {@link KvWireType}, little-endian; the runner
 * copies it into its pages at admission ({@link ModelRunner#importKv}). Pinned on the GPU, so that copy is one
 * asynchronous transfer. Closing it hands the memory back to the runner that gave it.
 */
public interface KvImportBuffer extends AutoCloseable {

    /** The memory, read and written with absolute indexes only. */
    ByteBuffer bytes();

    @Override
    void close();
}
