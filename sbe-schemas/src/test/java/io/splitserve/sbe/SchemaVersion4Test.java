package io.splitserve.sbe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * Version 4 appends fields and var-data to KvTransferBegin, PrefillDone, NodeHello and PrefillRequest, and adds
 * FirstToken, KvLayerReady and two failure statuses. Nodes and router are upgraded one at a time, so: a version-3
 * decoder reads each version-4 message's version-3 fields unchanged (skipping the longer block and never reading the
 * trailing var-data), a version-4 decoder reads version-3 messages with the new fields absent (a null KV path, empty
 * endpoints and GPU export), and the new messages round-trip.
 */
class SchemaVersion4Test
{
    private static final byte[] ENDPOINT = {0, 1, 2, (byte)0xff, 0x7f, (byte)0x80};

    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));

    @Test
    void aVersion3DecoderReadsVersion4KvTransferBeginAndPrefillDoneUnchanged()
    {
        new KvTransferBeginEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(9L).modelFingerprint(-5L).layers(28).tokens(300).kvHeads(2).headDim(128).dtype(KvDtype.BF16)
            .totalBytes(123_456_789L).path(KvPath.GPU).putGpuExport(ENDPOINT, 0, ENDPOINT.length);
        final io.splitserve.sbe.v3.MessageHeaderDecoder header = new io.splitserve.sbe.v3.MessageHeaderDecoder();
        final io.splitserve.sbe.v3.KvTransferBeginDecoder begin = new io.splitserve.sbe.v3.KvTransferBeginDecoder()
            .wrapAndApplyHeader(buffer, 0, header);
        assertEquals(MessageHeaderEncoder.SCHEMA_VERSION, header.version()); // version 4 or later
        assertTrue(header.blockLength() > io.splitserve.sbe.v3.KvTransferBeginDecoder.BLOCK_LENGTH);
        assertEquals(9L, begin.requestId());
        assertEquals(-5L, begin.modelFingerprint());
        assertEquals(28, begin.layers());
        assertEquals(300, begin.tokens());
        assertEquals(2, begin.kvHeads());
        assertEquals(128, begin.headDim());
        assertEquals(io.splitserve.sbe.v3.KvDtype.BF16, begin.dtype());
        assertEquals(123_456_789L, begin.totalBytes());

        new PrefillDoneEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(41L).nodeId(2).firstToken(77).promptTokens(17).prefillNanos(5L).kvStatus(KvTransferStatus.OK)
            .kvBytes(4096L).kvPath(KvPath.GPU);
        final io.splitserve.sbe.v3.PrefillDoneDecoder done = new io.splitserve.sbe.v3.PrefillDoneDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v3.MessageHeaderDecoder());
        assertEquals(41L, done.requestId());
        assertEquals(2, done.nodeId());
        assertEquals(77, done.firstToken());
        assertEquals(17, done.promptTokens());
        assertEquals(5L, done.prefillNanos());
        assertEquals(io.splitserve.sbe.v3.KvTransferStatus.OK, done.kvStatus());
        assertEquals(4096L, done.kvBytes());
    }

    @Test
    void aVersion3DecoderReadsVersion4NodeHelloAndPrefillRequestIgnoringTheEndpoints()
    {
        new NodeHelloEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .nodeId(101).role(NodeRole.DECODE).modelFingerprint(3L).totalKvPages(640).pageSize(16).maxBatchTokens(64)
            .controlStreamId(20101).kvStreamId(30101).kvAckStreamId(40101).modelName("demo").controlChannel("c")
            .kvChannel("kv").kvAckChannel("ack").putKvEndpoint(ENDPOINT, 0, ENDPOINT.length);
        final io.splitserve.sbe.v3.NodeHelloDecoder hello = new io.splitserve.sbe.v3.NodeHelloDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v3.MessageHeaderDecoder());
        assertEquals(101, hello.nodeId());
        assertEquals(io.splitserve.sbe.v3.NodeRole.DECODE, hello.role());
        assertEquals(640, hello.totalKvPages());
        assertEquals(16, hello.pageSize());
        assertEquals(40101, hello.kvAckStreamId());
        assertEquals("demo", hello.modelName());
        assertEquals("c", hello.controlChannel());
        assertEquals("kv", hello.kvChannel());
        assertEquals("ack", hello.kvAckChannel());

        final int[] prompt = {3, 1, 4};
        final UnsafeBuffer tokens = new UnsafeBuffer(new byte[prompt.length * Integer.BYTES]);
        for (int i = 0; i < prompt.length; i++)
        {
            tokens.putInt(i * Integer.BYTES, prompt[i], java.nio.ByteOrder.LITTLE_ENDIAN);
        }
        new PrefillRequestEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(8L).decodeNodeId(101).maxNewTokens(20).temperature(0.5f).topP(0.9f).topK(4).seed(6L)
            .decodeKvStreamId(30101).decodeKvAckStreamId(40101).sampledTokens(2).decodeKvChannel("kv")
            .putPromptTokens(tokens, 0, tokens.capacity()).decodeKvAckChannel("ack")
            .putDecodeKvEndpoint(ENDPOINT, 0, ENDPOINT.length);
        final io.splitserve.sbe.v3.PrefillRequestDecoder request = new io.splitserve.sbe.v3.PrefillRequestDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v3.MessageHeaderDecoder());
        assertEquals(8L, request.requestId());
        assertEquals(101, request.decodeNodeId());
        assertEquals(20, request.maxNewTokens());
        assertEquals(2, request.sampledTokens());
        assertEquals("kv", request.decodeKvChannel());
        final byte[] promptBytes = new byte[request.promptTokensLength()];
        request.getPromptTokens(promptBytes, 0, promptBytes.length);
        assertArrayEquals(tokens.byteArray(), promptBytes);
        assertEquals("ack", request.decodeKvAckChannel());
    }

    @Test
    void aVersion4DecoderReadsVersion3MessagesWithTheNewFieldsAbsent()
    {
        new io.splitserve.sbe.v3.PrefillDoneEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v3.MessageHeaderEncoder())
            .requestId(5L).nodeId(1).firstToken(9).promptTokens(3).prefillNanos(7L)
            .kvStatus(io.splitserve.sbe.v3.KvTransferStatus.OK).kvBytes(64L);
        final MessageHeaderDecoder header = new MessageHeaderDecoder();
        final PrefillDoneDecoder done = new PrefillDoneDecoder().wrapAndApplyHeader(buffer, 0, header);
        assertEquals(3, header.version());
        assertEquals(9, done.firstToken());
        assertEquals(64L, done.kvBytes());
        assertEquals(KvPath.NULL_VAL, done.kvPath());
        assertEquals(KvPath.NULL_VAL.value(), done.kvPathRaw());

        new io.splitserve.sbe.v3.KvTransferBeginEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v3.MessageHeaderEncoder())
            .requestId(9L).modelFingerprint(1L).layers(2).tokens(3).kvHeads(4).headDim(8)
            .dtype(io.splitserve.sbe.v3.KvDtype.F32).totalBytes(768L);
        final KvTransferBeginDecoder begin = new KvTransferBeginDecoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(768L, begin.totalBytes());
        assertEquals(KvPath.NULL_VAL, begin.path());
        assertEquals(0, begin.gpuExportLength());

        new io.splitserve.sbe.v3.NodeHelloEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v3.MessageHeaderEncoder())
            .nodeId(1).role(io.splitserve.sbe.v3.NodeRole.PREFILL).modelFingerprint(3L).totalKvPages(10).pageSize(4)
            .maxBatchTokens(2048).controlStreamId(10001).kvStreamId(0).kvAckStreamId(0).modelName("demo")
            .controlChannel("c").kvChannel("").kvAckChannel("");
        final NodeHelloDecoder hello = new NodeHelloDecoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals("demo", hello.modelName());
        assertEquals("c", hello.controlChannel());
        assertEquals("", hello.kvChannel());
        assertEquals("", hello.kvAckChannel());
        assertEquals(0, hello.kvEndpointLength());

        new io.splitserve.sbe.v3.PrefillRequestEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v3.MessageHeaderEncoder())
            .requestId(8L).decodeNodeId(101).maxNewTokens(20).temperature(0f).topP(1f).topK(0).seed(0L)
            .decodeKvStreamId(30101).decodeKvAckStreamId(40101).sampledTokens(0).decodeKvChannel("kv")
            .putPromptTokens(new byte[] {1, 0, 0, 0}, 0, 4).decodeKvAckChannel("ack");
        final PrefillRequestDecoder request = new PrefillRequestDecoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals("kv", request.decodeKvChannel());
        assertEquals(4, request.promptTokensLength());
        request.skipPromptTokens();
        assertEquals("ack", request.decodeKvAckChannel());
        assertEquals(0, request.decodeKvEndpointLength());
    }

    @Test
    void firstTokenAndKvLayerReadyRoundTrip()
    {
        new FirstTokenEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(12L).nodeId(3).tokenId(151_643).promptTokens(2048).timestampNanos(1_700_000_000_123_456_789L);
        final MessageHeaderDecoder header = new MessageHeaderDecoder().wrap(buffer, 0);
        assertEquals(FirstTokenDecoder.TEMPLATE_ID, header.templateId());
        final FirstTokenDecoder first = new FirstTokenDecoder().wrapAndApplyHeader(buffer, 0, header);
        assertEquals(12L, first.requestId());
        assertEquals(3, first.nodeId());
        assertEquals(151_643, first.tokenId());
        assertEquals(2048, first.promptTokens());
        assertEquals(1_700_000_000_123_456_789L, first.timestampNanos());

        new KvLayerReadyEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(12L).layer(27).crc32cK(0x8000_0001).crc32cV(-1);
        header.wrap(buffer, 0);
        assertEquals(KvLayerReadyDecoder.TEMPLATE_ID, header.templateId());
        final KvLayerReadyDecoder layer = new KvLayerReadyDecoder().wrapAndApplyHeader(buffer, 0, header);
        assertEquals(12L, layer.requestId());
        assertEquals(27, layer.layer());
        assertEquals(0x8000_0001, layer.crc32cK());
        assertEquals(-1, layer.crc32cV());
    }

    @Test
    void aVersion3DecoderSeesTheNewGpuFailureStatusesOnlyRaw()
    {
        new KvTransferAckEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(4L).status(KvTransferStatus.FAILED_GPU_PEER_ACCESS);
        final io.splitserve.sbe.v3.KvTransferAckDecoder ack = new io.splitserve.sbe.v3.KvTransferAckDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v3.MessageHeaderDecoder());
        assertEquals(4L, ack.requestId());
        assertEquals(KvTransferStatus.FAILED_GPU_PEER_ACCESS.value(), ack.statusRaw());
        assertThrows(IllegalArgumentException.class, ack::status);
    }
}
