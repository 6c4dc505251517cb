package io.splitserve.kvtransfer;

import io.aeron.Publication;
import io.aeron.ReservedValueSupplier;
import io.aeron.logbuffer.FrameDescriptor;
import io.aeron.protocol.DataHeaderFlyweight;
import io.aeron.protocol.HeaderFlyweight;
import io.splitserve.sbe.KvChunkDecoder;
import io.splitserve.sbe.KvChunkEncoder;
import io.splitserve.sbe.KvLayerReadyEncoder;
import io.splitserve.sbe.KvPath;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.KvTransferBeginEncoder;
import io.splitserve.sbe.KvTransferEndEncoder;
import io.splitserve.sbe.KvTransferStatus;
import io.splitserve.sbe.MessageHeaderEncoder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Encodes the sender's KV transfer messages onto a publication. A chunk goes out as a gathered offer of its small
 * encoded header and the payload straight from the caller's memory, so payload bytes are copied exactly once, into
 * the log buffer. The running CRC32C of the payload is folded in from the log buffer itself, frame by frame right
 * after Aeron copied each frame (its reserved-value hook), while the bytes are still in cache, so the sender reads
 * its source memory only once. Back-pressure and admin actions are retried with the idle strategy until the offer
 * deadline; every other refusal (not connected, closed, max position) is a failure the caller must act on.
 */
final class KvTransferProxy
{
    /** Bytes in front of a chunk's payload: message header, fixed block and the payload's length field. */
    static final int CHUNK_HEADER_LENGTH =
        MessageHeaderEncoder.ENCODED_LENGTH + KvChunkEncoder.BLOCK_LENGTH + KvChunkDecoder.payloadHeaderLength();

    private final Publication publication;
    private final IdleStrategy idleStrategy;
    private final NanoClock nanoClock;
    private final long offerTimeoutNs;
    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));
    private final UnsafeBuffer exportBytes = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));
    private final UnsafeBuffer idScratch = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));
    private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
    private final KvTransferBeginEncoder beginEncoder = new KvTransferBeginEncoder();
    private final KvChunkEncoder chunkEncoder = new KvChunkEncoder();
    private final KvTransferEndEncoder endEncoder = new KvTransferEndEncoder();
    private final KvLayerReadyEncoder layerReadyEncoder = new KvLayerReadyEncoder();
    private final ReservedValueSupplier payloadChecksum = this::foldPayloadIntoCrc;
    private int crcState;

    KvTransferProxy(
        final Publication publication, final IdleStrategy idleStrategy, final NanoClock nanoClock, final long offerTimeoutNs)
    {
        this.publication = publication;
        this.idleStrategy = idleStrategy;
        this.nanoClock = nanoClock;
        this.offerTimeoutNs = offerTimeoutNs;
    }

    /**
     * Begin of a transfer; {@code export} is null on the host path and names the sender's device memory on the GPU
     * path; {@code tokenIds}, when not null, are the ids of the tokens whose KV this is; rows after the first
     * {@code cachedTokens} travel; {@code attemptToken} and {@code senderNodeId} (0: none) identify the attempt and
     * the sending node to the receiver.
     */
    KvTransferStatus begin(
        final long requestId,
        final long attemptToken,
        final int senderNodeId,
        final long modelFingerprint,
        final KvGeometry geometry,
        final int tokens,
        final int cachedTokens,
        final GpuKvExport export,
        final int[] tokenIds)
    {
        final int idBytes = tokenIds == null ? 0 : 4 * tokenIds.length;
        if (idBytes + 1024 > buffer.capacity())
        {
            // a prompt longer than any before: both buffers grow once to hold its ids
            final int capacity = Integer.highestOneBit(idBytes + 1024) * 2;
            buffer.wrap(ByteBuffer.allocateDirect(capacity));
            idScratch.wrap(ByteBuffer.allocateDirect(capacity));
        }
        beginEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder)
            .requestId(requestId)
            .modelFingerprint(modelFingerprint)
            .layers(geometry.layers())
            .tokens(tokens)
            .kvHeads(geometry.kvHeads())
            .headDim(geometry.headDim())
            .dtype(geometry.dtype())
            .totalBytes(geometry.totalBytes(tokens - cachedTokens))
            .path(export == null ? KvPath.HOST : KvPath.GPU)
            .cachedTokens(cachedTokens)
            .attemptToken(attemptToken)
            .senderNodeId(senderNodeId);
        if (export == null)
        {
            beginEncoder.putGpuExport(exportBytes, 0, 0);
        }
        else
        {
            beginEncoder.putGpuExport(exportBytes, 0, export.encode(exportBytes, 0));
        }
        for (int i = 0; i < idBytes / 4; i++)
        {
            idScratch.putInt(4 * i, tokenIds[i], ByteOrder.LITTLE_ENDIAN);
        }
        beginEncoder.putTokenIds(idScratch, 0, idBytes);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + beginEncoder.encodedLength(), null, 0, 0);
    }

    /** GPU path: layer {@code layer}'s K and V are in the exported memory, with their CRC32C. */
    KvTransferStatus layerReady(final long requestId, final int layer, final int crcK, final int crcV)
    {
        layerReadyEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder)
            .requestId(requestId).layer(layer).crc32cK(crcK).crc32cV(crcV);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + layerReadyEncoder.encodedLength(), null, 0, 0);
    }

    /**
     * Offer one chunk, folding its payload into {@code crcStateBefore}; on OK {@link #crcState()} holds the new state.
     */
    KvTransferStatus chunk(
        final long requestId,
        final int layer,
        final KvPart part,
        final int tokenOffset,
        final int tokenCount,
        final DirectBuffer payload,
        final int payloadIndex,
        final int payloadLength,
        final int crcStateBefore)
    {
        chunkEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder)
            .requestId(requestId)
            .layer(layer)
            .part(part)
            .tokenOffset(tokenOffset)
            .tokenCount(tokenCount);
        // the var-data length field; the payload bytes themselves follow from the second buffer of the offer
        buffer.putInt(chunkEncoder.limit(), payloadLength, ByteOrder.LITTLE_ENDIAN);
        crcState = crcStateBefore;
        return offer(CHUNK_HEADER_LENGTH, payload, payloadIndex, payloadLength);
    }

    /** The CRC32C state after the last chunk that went out. */
    int crcState()
    {
        return crcState;
    }

    // called by Aeron once per frame of a chunk that is being published, after the frame's bytes were copied
    private long foldPayloadIntoCrc(final DirectBuffer termBuffer, final int frameOffset, final int frameLength)
    {
        int payloadStart = frameOffset + DataHeaderFlyweight.HEADER_LENGTH;
        if ((termBuffer.getByte(frameOffset + HeaderFlyweight.FLAGS_FIELD_OFFSET) & FrameDescriptor.BEGIN_FRAG_FLAG) != 0)
        {
            payloadStart += CHUNK_HEADER_LENGTH;
        }
        crcState = Crc32c.update(crcState, termBuffer, payloadStart, frameOffset + frameLength - payloadStart);
        return 0;
    }

    KvTransferStatus end(final long requestId, final int crc32c, final int firstToken)
    {
        endEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder).requestId(requestId).crc32c(crc32c).firstToken(firstToken);
        return offer(MessageHeaderEncoder.ENCODED_LENGTH + endEncoder.encodedLength(), null, 0, 0);
    }

    private KvTransferStatus offer(final int headerLength, final DirectBuffer payload, final int index, final int length)
    {
        long deadlineNs = 0;
        idleStrategy.reset();
        while (true)
        {
            final long result = payload == null ?
                publication.offer(buffer, 0, headerLength) :
                publication.offer(buffer, 0, headerLength, payload, index, length, payloadChecksum);
            if (result > 0)
            {
                return KvTransferStatus.OK;
            }
            if (result != Publication.BACK_PRESSURED && result != Publication.ADMIN_ACTION)
            {
                return KvTransferStatus.FAILED_DISCONNECTED;
            }
            final long nowNs = nanoClock.nanoTime();
            if (deadlineNs == 0)
            {
                deadlineNs = nowNs + offerTimeoutNs;
            }
            else if (nowNs - deadlineNs > 0)
            {
                return KvTransferStatus.FAILED_TIMEOUT;
            }
            idleStrategy.idle();
        }
    }
}
