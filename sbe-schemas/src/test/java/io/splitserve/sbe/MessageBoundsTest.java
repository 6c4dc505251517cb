package io.splitserve.sbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.agrona.ExpandableArrayBuffer;
import org.junit.jupiter.api.Test;

/** What {@link MessageBounds} accepts and each way a fragment can lie about its length. */
class MessageBoundsTest {
    private final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(4096);
    private final MessageBounds bounds = new MessageBounds();

    private int encodeHello() {
        final NodeHelloEncoder hello = new NodeHelloEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder());
        hello.nodeId(3).role(NodeRole.DECODE).totalKvPages(10).pageSize(16).controlStreamId(1).kvStreamId(2)
                .kvAckStreamId(3).modelName("demo").controlChannel("aeron:ipc").kvChannel("aeron:ipc")
                .kvAckChannel("aeron:ipc").putKvEndpoint(new byte[] {1, 2, 3}, 0, 3).putProof(new byte[0], 0, 0);
        return MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength();
    }

    @Test
    void aWholeMessageFitsAndDecodesFromTheView() {
        final int length = encodeHello();
        assertTrue(bounds.fits(buffer, 0, length));
        final NodeHelloDecoder hello = new NodeHelloDecoder().wrapAndApplyHeader(bounds.buffer(), 0, bounds.header());
        assertEquals(3, hello.nodeId());
        assertEquals("demo", hello.modelName());
    }

    @Test
    void aTruncatedMessageIsRefused() {
        final int length = encodeHello();
        for (int cut = 0; cut < length; cut++) {
            assertFalse(bounds.fits(buffer, 0, cut), "cut at " + cut);
        }
    }

    @Test
    void aVarDataLengthPastTheFragmentIsRefusedBeforeAnyAllocation() {
        final int length = encodeHello();
        final int modelNameLength = MessageHeaderEncoder.ENCODED_LENGTH + NodeHelloEncoder.BLOCK_LENGTH;
        buffer.putInt(modelNameLength, 1 << 30); // 1 GiB: the largest the schema allows, far past the fragment
        assertFalse(bounds.fits(buffer, 0, length));
    }

    /** A length of 2^32 - 4 reads as -4: the walk would step back onto the same length field and accept. */
    @Test
    void aVarDataLengthThatReadsNegativeIsRefused() {
        final int length = encodeHello();
        final int kvEndpointLength = length - 3 - 4;
        buffer.putInt(kvEndpointLength, -4);
        assertFalse(bounds.fits(buffer, 0, length - 3 - 4 + 4));
        buffer.putInt(MessageHeaderEncoder.ENCODED_LENGTH + NodeHelloEncoder.BLOCK_LENGTH, -4);
        assertFalse(bounds.fits(buffer, 0, length));
    }

    /**
     * A length of -8 that steps the walk back into the model name, whose bytes read as a length of 20, lands every
     * later length field on zero bytes: the walk ends inside the fragment and past every length it read, but
     * controlChannel() would allocate new byte[-8]. Only the forward-only walk refuses it.
     */
    @Test
    void aLengthThatStepsTheWalkBackwardsIsRefused() {
        final NodeHelloEncoder hello = new NodeHelloEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder());
        hello.nodeId(3).role(NodeRole.DECODE).modelName("\u0014\0\0\0").controlChannel("aaaaaaaaaaaaaaaa\0\0\0\0\0\0\0\0")
                .kvChannel("aeron:ipc").kvAckChannel("aeron:ipc").putKvEndpoint(new byte[0], 0, 0);
        final int length = MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength();
        final int controlChannelLength = MessageHeaderEncoder.ENCODED_LENGTH + NodeHelloEncoder.BLOCK_LENGTH + 4 + 4;
        buffer.putInt(controlChannelLength, -8);
        assertFalse(bounds.fits(buffer, 0, length));
    }

    @Test
    void aBlockShorterThanThisVersionsIsRefused() {
        final int length = encodeHello();
        buffer.putShort(0, (short) (NodeHelloEncoder.BLOCK_LENGTH - 1));
        assertFalse(bounds.fits(buffer, 0, length));
    }

    /**
     * Found by MessageBoundsFuzzTest: a KvTransferBegin header claiming version 0 with a 5-byte block passed, since
     * only a current-version block was checked, and its decoder then read requestId's neighbours past the fragment.
     */
    @Test
    void anOldVersionBlockShorterThanThatVersionsFieldsIsRefused() {
        final KvTransferBeginEncoder begin = new KvTransferBeginEncoder()
                .wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder());
        begin.requestId(1).putGpuExport(new byte[0], 0, 0).putTokenIds(new byte[0], 0, 0);
        final int length = MessageHeaderEncoder.ENCODED_LENGTH + begin.encodedLength();
        buffer.putShort(6, (short) 0);
        buffer.putShort(0, (short) 5);
        assertFalse(bounds.fits(buffer, 0, MessageHeaderEncoder.ENCODED_LENGTH + 5 + 4 * 2));
        buffer.putShort(0, (short) KvTransferBeginEncoder.BLOCK_LENGTH);
        assertTrue(bounds.fits(buffer, 0, length), "version 0 with the whole block");
    }

    /** Found by MessageBoundsFuzzTest: a KvKeepAlive group of 64 elements with a 0-byte element block passed. */
    @Test
    void aGroupElementBlockShorterThanItsFieldsIsRefused() {
        final KvKeepAliveEncoder keepAlive = new KvKeepAliveEncoder()
                .wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder());
        keepAlive.transfersCount(2).next().requestId(7).next().requestId(8);
        final int length = MessageHeaderEncoder.ENCODED_LENGTH + keepAlive.encodedLength();
        assertTrue(bounds.fits(buffer, 0, length));
        buffer.putShort(MessageHeaderEncoder.ENCODED_LENGTH + KvKeepAliveEncoder.BLOCK_LENGTH, (short) 0);
        assertFalse(bounds.fits(buffer, 0, length));
    }

    @Test
    void anotherSchemaOrAnUnknownTemplateIsRefused() {
        final int length = encodeHello();
        buffer.putShort(2, (short) 999);
        assertFalse(bounds.fits(buffer, 0, length));
        encodeHello();
        buffer.putShort(4, (short) (MessageHeaderEncoder.SCHEMA_ID + 1));
        assertFalse(bounds.fits(buffer, 0, length));
    }
}
