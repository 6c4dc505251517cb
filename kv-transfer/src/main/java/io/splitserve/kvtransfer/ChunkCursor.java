package io.splitserve.kvtransfer;

import io.splitserve.sbe.KvPart;

/**
 * Where the payload of the chunk now arriving on one publication session goes. A chunk larger than one frame
 * arrives as consecutive fragments of that session; the cursor lets each fragment be scattered straight from the
 * log buffer into pages, with no reassembly copy. {@link #transfer} is null while a chunk is being skipped.
 */
final class ChunkCursor
{
    InboundTransfer transfer;
    int layer;
    KvPart part;
    long byteOffset;
    int remaining;
}
