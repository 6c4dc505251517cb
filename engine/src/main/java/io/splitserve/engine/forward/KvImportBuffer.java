package io.splitserve.engine.forward;

import java.nio.ByteBuffer;

/**
 * Host memory that one imported sequence's KV is written into as it arrives, in the wire layout
 * {@code [layers][K, V][tokens][kvHeads][headDim]} of the runner's {@link KvWireType}, little-endian; the runner
 * copies it into its pages a layer at a time ({@link ModelRunner#importLayer}). Pinned on the GPU, so each of those
 * copies is one asynchronous transfer.
 */
public interface KvImportBuffer extends AutoCloseable {

    /** Tokens of KV the memory holds. */
    int tokens();

    /** The memory, exactly the wire layout's size, read and written with absolute indexes only. */
    ByteBuffer bytes();

    /**
     * Hands the memory back to the runner that gave it, once every layer imported from it has landed in the pages
     * (waiting for those copies): afterwards the pages are ready for any forward pass or owner, and the memory is
     * never reused under a copy still reading it.
     */
    @Override
    void close();
}
