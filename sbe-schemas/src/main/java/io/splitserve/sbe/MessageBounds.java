package io.splitserve.sbe;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.ByteOrder;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Checks an inbound message of this schema against the fragment it arrived in before any decoder reads it, since
 * the generated decoders trust the bytes: a var-data length (up to 1 GiB) is read as given, and a field past the
 * fragment is read from whatever the term buffer holds next. {@link #fits} walks the message's groups and var data on
 * a view bounded to the fragment and says whether everything the header and length fields declare lies inside it,
 * so a truncated message or a lying length is refused before it is decoded, allocates, or loops. The walk reads only
 * length fields, each after the one before; a length of 2 GiB or more (read as a negative int, which would step the
 * walk backwards and let a later decoder allocate a negative or huge array) is refused as running backwards.
 *
 * <p>The block, and a group's element block, must hold every fixed field of the version the header claims (a field since a later version is not
 * read), since the decoders read those at fixed offsets whatever the block length says. After {@code fits} returned
 * true, decode through {@link #buffer()} at offset 0, a view that ends where the fragment ends (Agrona's bounds check
 * stays the last line). One instance per adapter; nothing is allocated per message.
 */
public final class MessageBounds {
    private static final int BODY = MessageHeaderDecoder.ENCODED_LENGTH;
    // per message (and per group), per schema version: the block its fixed fields of that version need
    private static final int[] STOP_STRINGS_BLOCKS = requiredBlocks(GenerateRequestDecoder.StopStringsDecoder.class);
    private static final int[] TRANSFERS_BLOCKS = requiredBlocks(KvKeepAliveDecoder.TransfersDecoder.class);
    private static final int[] GENERATE_REQUEST_BLOCKS = requiredBlocks(GenerateRequestDecoder.class);
    private static final int[] CANCEL_REQUEST_BLOCKS = requiredBlocks(CancelRequestDecoder.class);
    private static final int[] TOKEN_EVENT_BLOCKS = requiredBlocks(TokenEventDecoder.class);
    private static final int[] REQUEST_ERROR_BLOCKS = requiredBlocks(RequestErrorDecoder.class);
    private static final int[] CLIENT_HELLO_BLOCKS = requiredBlocks(ClientHelloDecoder.class);
    private static final int[] ROUTER_HELLO_BLOCKS = requiredBlocks(RouterHelloDecoder.class);
    private static final int[] NODE_HELLO_BLOCKS = requiredBlocks(NodeHelloDecoder.class);
    private static final int[] HEARTBEAT_BLOCKS = requiredBlocks(HeartbeatDecoder.class);
    private static final int[] PREFILL_REQUEST_BLOCKS = requiredBlocks(PrefillRequestDecoder.class);
    private static final int[] PREFILL_DONE_BLOCKS = requiredBlocks(PrefillDoneDecoder.class);
    private static final int[] FIRST_TOKEN_BLOCKS = requiredBlocks(FirstTokenDecoder.class);
    private static final int[] DECODE_ADMIT_BLOCKS = requiredBlocks(DecodeAdmitDecoder.class);
    private static final int[] DECODE_DONE_BLOCKS = requiredBlocks(DecodeDoneDecoder.class);
    private static final int[] KV_TRANSFER_BEGIN_BLOCKS = requiredBlocks(KvTransferBeginDecoder.class);
    private static final int[] KV_CHUNK_BLOCKS = requiredBlocks(KvChunkDecoder.class);
    private static final int[] KV_TRANSFER_END_BLOCKS = requiredBlocks(KvTransferEndDecoder.class);
    private static final int[] KV_LAYER_READY_BLOCKS = requiredBlocks(KvLayerReadyDecoder.class);
    private static final int[] KV_KEEP_ALIVE_BLOCKS = requiredBlocks(KvKeepAliveDecoder.class);
    private static final int[] KV_TRANSFER_ACK_BLOCKS = requiredBlocks(KvTransferAckDecoder.class);

    private final UnsafeBuffer view = new UnsafeBuffer(0, 0);
    private final ForwardOnlyBuffer walk = new ForwardOnlyBuffer();
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final GenerateRequestDecoder generateRequest = new GenerateRequestDecoder();
    private final CancelRequestDecoder cancelRequest = new CancelRequestDecoder();
    private final TokenEventDecoder tokenEvent = new TokenEventDecoder();
    private final RequestErrorDecoder requestError = new RequestErrorDecoder();
    private final ClientHelloDecoder clientHello = new ClientHelloDecoder();
    private final RouterHelloDecoder routerHello = new RouterHelloDecoder();
    private final NodeHelloDecoder nodeHello = new NodeHelloDecoder();
    private final HeartbeatDecoder heartbeat = new HeartbeatDecoder();
    private final PrefillRequestDecoder prefillRequest = new PrefillRequestDecoder();
    private final PrefillDoneDecoder prefillDone = new PrefillDoneDecoder();
    private final FirstTokenDecoder firstToken = new FirstTokenDecoder();
    private final DecodeAdmitDecoder decodeAdmit = new DecodeAdmitDecoder();
    private final DecodeDoneDecoder decodeDone = new DecodeDoneDecoder();
    private final KvTransferBeginDecoder kvTransferBegin = new KvTransferBeginDecoder();
    private final KvChunkDecoder kvChunk = new KvChunkDecoder();
    private final KvTransferEndDecoder kvTransferEnd = new KvTransferEndDecoder();
    private final KvLayerReadyDecoder kvLayerReady = new KvLayerReadyDecoder();
    private final KvKeepAliveDecoder kvKeepAlive = new KvKeepAliveDecoder();
    private final KvTransferAckDecoder kvTransferAck = new KvTransferAckDecoder();

    /**
     * Whether the fragment {@code [offset, offset + length)} of {@code buffer} holds one whole message of this schema
     * with a known template: its header, its block as the header sizes it (at least this schema's block when the header
     * claims this version or later), and every group and var-data field its length fields declare. On true, the view
     * ({@link #buffer()}) and header ({@link #header()}) are wrapped on that fragment.
     */
    public boolean fits(DirectBuffer buffer, int offset, int length) {
        if (offset < 0 || length < MessageHeaderDecoder.ENCODED_LENGTH || offset > buffer.capacity() - length) {
            return false;
        }
        view.wrap(buffer, offset, length);
        walk.wrap(buffer, offset, length);
        header.wrap(view, 0);
        if (header.schemaId() != MessageHeaderDecoder.SCHEMA_ID) {
            return false;
        }
        final int decodedLength;
        try {
            walk.restart();
            decodedLength = decodedLength(header.templateId());
        } catch (IndexOutOfBoundsException e) { // a length field lies past the fragment, or the walk ran backwards
            return false;
        }
        return decodedLength >= walk.readEnd && decodedLength <= length;
    }

    /** The fragment as the last {@link #fits} call that returned true saw it, from offset 0. */
    public DirectBuffer buffer() {
        return view;
    }

    /** The message header of that fragment. */
    public MessageHeaderDecoder header() {
        return header;
    }

    // header + block + groups + var data as declared, or -1 for an unknown template or a block (or group element block)
    // shorter than the fixed fields of the version the header claims (the decoders read those whatever the block length says); a declared var-data length past the fragment gives a length over the fragment's, never a read there
    private int decodedLength(int templateId) {
        final int blockLength = header.blockLength();
        final int version = header.version();
        final int bodyLength = switch (templateId) {
            case GenerateRequestDecoder.TEMPLATE_ID -> blockLength < required(GENERATE_REQUEST_BLOCKS, version)
                    || groupBlockShort(STOP_STRINGS_BLOCKS, blockLength, version)
                    ? -1 : generateRequest.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case CancelRequestDecoder.TEMPLATE_ID -> blockLength < required(CANCEL_REQUEST_BLOCKS, version)
                    ? -1 : cancelRequest.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case TokenEventDecoder.TEMPLATE_ID -> blockLength < required(TOKEN_EVENT_BLOCKS, version)
                    ? -1 : tokenEvent.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case RequestErrorDecoder.TEMPLATE_ID -> blockLength < required(REQUEST_ERROR_BLOCKS, version)
                    ? -1 : requestError.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case ClientHelloDecoder.TEMPLATE_ID -> blockLength < required(CLIENT_HELLO_BLOCKS, version)
                    ? -1 : clientHello.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case RouterHelloDecoder.TEMPLATE_ID -> blockLength < required(ROUTER_HELLO_BLOCKS, version)
                    ? -1 : routerHello.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case NodeHelloDecoder.TEMPLATE_ID -> blockLength < required(NODE_HELLO_BLOCKS, version)
                    ? -1 : nodeHello.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case HeartbeatDecoder.TEMPLATE_ID -> blockLength < required(HEARTBEAT_BLOCKS, version)
                    ? -1 : heartbeat.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case PrefillRequestDecoder.TEMPLATE_ID -> blockLength < required(PREFILL_REQUEST_BLOCKS, version)
                    ? -1 : prefillRequest.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case PrefillDoneDecoder.TEMPLATE_ID -> blockLength < required(PREFILL_DONE_BLOCKS, version)
                    ? -1 : prefillDone.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case FirstTokenDecoder.TEMPLATE_ID -> blockLength < required(FIRST_TOKEN_BLOCKS, version)
                    ? -1 : firstToken.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case DecodeAdmitDecoder.TEMPLATE_ID -> blockLength < required(DECODE_ADMIT_BLOCKS, version)
                    ? -1 : decodeAdmit.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case DecodeDoneDecoder.TEMPLATE_ID -> blockLength < required(DECODE_DONE_BLOCKS, version)
                    ? -1 : decodeDone.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case KvTransferBeginDecoder.TEMPLATE_ID -> blockLength < required(KV_TRANSFER_BEGIN_BLOCKS, version)
                    ? -1 : kvTransferBegin.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case KvChunkDecoder.TEMPLATE_ID -> blockLength < required(KV_CHUNK_BLOCKS, version)
                    ? -1 : kvChunk.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case KvTransferEndDecoder.TEMPLATE_ID -> blockLength < required(KV_TRANSFER_END_BLOCKS, version)
                    ? -1 : kvTransferEnd.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case KvLayerReadyDecoder.TEMPLATE_ID -> blockLength < required(KV_LAYER_READY_BLOCKS, version)
                    ? -1 : kvLayerReady.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case KvKeepAliveDecoder.TEMPLATE_ID -> blockLength < required(KV_KEEP_ALIVE_BLOCKS, version)
                    || groupBlockShort(TRANSFERS_BLOCKS, blockLength, version)
                    ? -1 : kvKeepAlive.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            case KvTransferAckDecoder.TEMPLATE_ID -> blockLength < required(KV_TRANSFER_ACK_BLOCKS, version)
                    ? -1 : kvTransferAck.wrap(walk, BODY, blockLength, version).sbeDecodedLength();
            default -> -1;
        };
        // sbeDecodedLength counts from the block; a length field near 1 GiB can wrap the int sum negative
        return bodyLength < 0 ? -1 : MessageHeaderDecoder.ENCODED_LENGTH + bodyLength;
    }

    // a message's one group starts right after its block; its elements need their version's fixed fields too
    private boolean groupBlockShort(int[] groupBlockByVersion, int blockLength, int version) {
        final int at = BODY + blockLength;
        if (at > view.capacity() - GroupSizeEncodingDecoder.ENCODED_LENGTH) {
            return true;
        }
        final int groupBlockLength = view.getShort(at, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
        final int count = view.getShort(at + 2, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
        return count > 0 && groupBlockLength < required(groupBlockByVersion, version);
    }

    private static int required(int[] blockByVersion, int version) {
        return blockByVersion[Math.min(version, blockByVersion.length - 1)];
    }

    /**
     * For each schema version up to this one, the end of the last fixed field a decoder of that version reads, from
     * the generated field metadata ({@code xSinceVersion}, {@code xEncodingOffset}, {@code xEncodingLength}).
     */
    private static int[] requiredBlocks(Class<?> decoder) {
        final int[] blocks = new int[MessageHeaderDecoder.SCHEMA_VERSION + 1];
        final String offsetSuffix = "EncodingOffset";
        try {
            for (Method method : decoder.getMethods()) {
                final String name = method.getName();
                if (!Modifier.isStatic(method.getModifiers()) || !name.endsWith(offsetSuffix)
                        || method.getParameterCount() != 0) {
                    continue;
                }
                final String field = name.substring(0, name.length() - offsetSuffix.length());
                final int end = (int) method.invoke(null) + (int) decoder.getMethod(field + "EncodingLength").invoke(null);
                final int since = (int) decoder.getMethod(field + "SinceVersion").invoke(null);
                for (int version = since; version < blocks.length; version++) {
                    blocks[version] = Math.max(blocks[version], end);
                }
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("generated decoder " + decoder.getSimpleName() + " lacks field metadata", e);
        }
        return blocks;
    }

    /** The walk's view: refuses a read before the one it just made, and remembers how far the reads reached. */
    private static final class ForwardOnlyBuffer extends UnsafeBuffer {
        private int lastIndex;
        private int readEnd;

        ForwardOnlyBuffer() {
            super(0, 0);
        }

        void restart() {
            lastIndex = 0;
            readEnd = 0;
        }

        private void forward(int index, int size) {
            if (index < lastIndex) {
                throw new IndexOutOfBoundsException("length fields run backwards: " + index + " after " + lastIndex);
            }
            lastIndex = index;
            readEnd = Math.max(readEnd, index + size);
        }

        @Override
        public int getInt(int index, ByteOrder byteOrder) {
            forward(index, Integer.BYTES);
            return super.getInt(index, byteOrder);
        }

        @Override
        public short getShort(int index, ByteOrder byteOrder) {
            forward(index, Short.BYTES);
            return super.getShort(index, byteOrder);
        }
    }
}
