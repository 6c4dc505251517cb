package io.splitserve.kvtransfer;

import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.Header;
import io.aeron.protocol.DataHeaderFlyweight;
import io.splitserve.sbe.KvChunkDecoder;
import io.splitserve.sbe.KvKeepAliveDecoder;
import io.splitserve.sbe.KvLayerReadyDecoder;
import io.splitserve.sbe.KvTransferBeginDecoder;
import io.splitserve.sbe.KvTransferEndDecoder;
import io.splitserve.sbe.MessageHeaderDecoder;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.collections.Int2IntHashMap;
import org.agrona.collections.Int2ObjectHashMap;

/**
 * Decodes the KV data stream for a {@link KvReceiver} fragment by fragment, without a FragmentAssembler: a chunk
 * larger than one frame arrives as consecutive fragments of its publication session, the first one carrying the
 * encoded header, so each fragment's payload bytes are handed to the receiver in place, per session cursor.
 * KvLayerReady, End and KvKeepAlive (which a sender's liveness thread sends on a session of its own) always fit one
 * frame; a Begin may not (it carries the prompt's token ids), so any other
 * message that arrives in fragments is assembled per session (one buffer, reused) and handed over whole. Messages of
 * other schemas are ignored. A Begin the receiver holds (no admission waits for it yet) is answered ABORT, so its
 * session is read from that Begin again on a later poll; an assembled Begin keeps its earlier fragments meanwhile and
 * takes its last one again at the same place.
 */
final class KvTransferAdapter implements ControlledFragmentHandler
{
    private final KvReceiver receiver;
    private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
    private final KvTransferBeginDecoder beginDecoder = new KvTransferBeginDecoder();
    private final KvChunkDecoder chunkDecoder = new KvChunkDecoder();
    private final KvTransferEndDecoder endDecoder = new KvTransferEndDecoder();
    private final KvLayerReadyDecoder layerReadyDecoder = new KvLayerReadyDecoder();
    private final KvKeepAliveDecoder keepAliveDecoder = new KvKeepAliveDecoder();
    private final Int2ObjectHashMap<ChunkCursor> cursorBySession = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<ExpandableArrayBuffer> assemblyBySession = new Int2ObjectHashMap<>();
    private final Int2IntHashMap assemblingLength = new Int2IntHashMap(0);
    private ExpandableArrayBuffer spareAssembly;

    KvTransferAdapter(final KvReceiver receiver)
    {
        this.receiver = receiver;
    }

    @Override
    public Action onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        final int sessionId = header.sessionId();
        final byte flags = header.flags();
        final boolean first = (flags & DataHeaderFlyweight.BEGIN_FLAG) != 0;
        final boolean last = (flags & DataHeaderFlyweight.END_FLAG) != 0;
        if (!first)
        {
            final ExpandableArrayBuffer assembling = assemblyBySession.get(sessionId);
            if (assembling != null)
            {
                final int at = assemblingLength.get(sessionId);
                assembling.putBytes(at, buffer, offset, length);
                if (!last)
                {
                    assemblingLength.put(sessionId, at + length);
                    return Action.CONTINUE;
                }
                if (!onMessage(assembling, 0, at + length, sessionId))
                {
                    return Action.ABORT; // held: this last fragment comes again and is written at the same place
                }
                assemblyBySession.remove(sessionId);
                spareAssembly = assembling;
                return Action.CONTINUE;
            }
            final ChunkCursor cursor = cursorBySession.get(sessionId);
            if (cursor != null && cursor.remaining > 0)
            {
                receiver.onChunkPayload(cursor, buffer, offset, length);
            }
            return Action.CONTINUE;
        }
        if (!last && !isChunk(buffer, offset))
        {
            // a control message larger than one frame (a Begin carrying a long prompt's token ids): assembled whole
            final ExpandableArrayBuffer assembling = spareAssembly != null ? spareAssembly : new ExpandableArrayBuffer();
            spareAssembly = null;
            assembling.putBytes(0, buffer, offset, length);
            assemblyBySession.put(sessionId, assembling);
            assemblingLength.put(sessionId, length);
            return Action.CONTINUE;
        }
        return onMessage(buffer, offset, length, sessionId) ? Action.CONTINUE : Action.ABORT;
    }

    private boolean isChunk(final DirectBuffer buffer, final int offset)
    {
        headerDecoder.wrap(buffer, offset);
        return headerDecoder.schemaId() == MessageHeaderDecoder.SCHEMA_ID &&
            headerDecoder.templateId() == KvChunkDecoder.TEMPLATE_ID;
    }

    // a whole message, or the first fragment of a chunk (whose payload continues in the session's next fragments);
    // false when the receiver holds it (a Begin no admission waits for yet)
    private boolean onMessage(final DirectBuffer buffer, final int offset, final int length, final int sessionId)
    {
        headerDecoder.wrap(buffer, offset);
        if (headerDecoder.schemaId() != MessageHeaderDecoder.SCHEMA_ID)
        {
            return true;
        }
        final int bodyOffset = offset + MessageHeaderDecoder.ENCODED_LENGTH;
        final int blockLength = headerDecoder.blockLength();
        final int version = headerDecoder.version();
        switch (headerDecoder.templateId())
        {
            case KvChunkDecoder.TEMPLATE_ID:
            {
                chunkDecoder.wrap(buffer, bodyOffset, blockLength, version);
                final int payloadLength = chunkDecoder.payloadLength();
                final int payloadIndex = chunkDecoder.limit() + KvChunkDecoder.payloadHeaderLength();
                final ChunkCursor cursor = cursorFor(sessionId);
                receiver.onChunkStart(cursor, sessionId, chunkDecoder, payloadLength);
                final int inThisFragment = Math.min(offset + length - payloadIndex, payloadLength);
                if (inThisFragment > 0)
                {
                    receiver.onChunkPayload(cursor, buffer, payloadIndex, inThisFragment);
                }
                break;
            }
            case KvTransferBeginDecoder.TEMPLATE_ID:
                beginDecoder.wrap(buffer, bodyOffset, blockLength, version);
                return receiver.onBegin(sessionId, beginDecoder);
            case KvLayerReadyDecoder.TEMPLATE_ID:
                layerReadyDecoder.wrap(buffer, bodyOffset, blockLength, version);
                receiver.onLayerReady(sessionId, layerReadyDecoder);
                break;
            case KvTransferEndDecoder.TEMPLATE_ID:
                endDecoder.wrap(buffer, bodyOffset, blockLength, version);
                receiver.onEnd(sessionId, endDecoder);
                break;
            case KvKeepAliveDecoder.TEMPLATE_ID:
                keepAliveDecoder.wrap(buffer, bodyOffset, blockLength, version);
                for (final KvKeepAliveDecoder.TransfersDecoder transfer : keepAliveDecoder.transfers())
                {
                    receiver.onKeepAlive(transfer.requestId());
                }
                break;
            default:
                break;
        }
        return true;
    }

    private ChunkCursor cursorFor(final int sessionId)
    {
        ChunkCursor cursor = cursorBySession.get(sessionId);
        if (cursor == null)
        {
            cursor = new ChunkCursor();
            cursorBySession.put(sessionId, cursor);
        }
        return cursor;
    }
}
