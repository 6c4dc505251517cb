package io.splitserve.sbe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * Every message of the schema survives encode then decode with every field intact, and the header names the
 * message, schema and version, so a dispatcher can route on the header alone.
 */
class WireSchemaRoundTripTest
{
    // a non-zero start offset catches codecs that ignore the offset they were wrapped at
    private static final int OFFSET = 24;

    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
    private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();

    private void assertHeader(final int templateId)
    {
        headerDecoder.wrap(buffer, OFFSET);
        assertEquals(templateId, headerDecoder.templateId());
        assertEquals(GenerateRequestEncoder.SCHEMA_ID, headerDecoder.schemaId());
        assertEquals(GenerateRequestEncoder.SCHEMA_VERSION, headerDecoder.version());
    }

    @Test
    void generateRequest()
    {
        final GenerateRequestEncoder encoder = new GenerateRequestEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder)
            .requestId(42L).maxNewTokens(256).temperature(0.7f).topP(0.9f).topK(40).seed(-7L)
            .promptFormat(PromptFormat.CHAT_JSON).priority((byte)3);
        encoder.stopStringsCount(2).next().text("</s>").next().text("\n\nUser:");
        encoder.model("qwen2.5-1.5b").prompt("[{\"role\":\"user\",\"content\":\"héllo\"}]");
        final int length = MessageHeaderEncoder.ENCODED_LENGTH + encoder.encodedLength();

        assertHeader(GenerateRequestEncoder.TEMPLATE_ID);
        final GenerateRequestDecoder decoder = new GenerateRequestDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(42L, decoder.requestId());
        assertEquals(256, decoder.maxNewTokens());
        assertEquals(0.7f, decoder.temperature());
        assertEquals(0.9f, decoder.topP());
        assertEquals(40, decoder.topK());
        assertEquals(-7L, decoder.seed());
        assertEquals(PromptFormat.CHAT_JSON, decoder.promptFormat());
        assertEquals(3, decoder.priority());
        final GenerateRequestDecoder.StopStringsDecoder stops = decoder.stopStrings();
        assertEquals(2, stops.count());
        assertEquals("</s>", stops.next().text());
        assertEquals("\n\nUser:", stops.next().text());
        assertEquals("qwen2.5-1.5b", decoder.model());
        assertEquals("[{\"role\":\"user\",\"content\":\"héllo\"}]", decoder.prompt());
        assertEquals(length, MessageHeaderDecoder.ENCODED_LENGTH + decoder.encodedLength());
    }

    @Test
    void cancelRequest()
    {
        new CancelRequestEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder).requestId(Long.MAX_VALUE);
        assertHeader(CancelRequestEncoder.TEMPLATE_ID);
        assertEquals(Long.MAX_VALUE, new CancelRequestDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder).requestId());
    }

    @Test
    void tokenEvent()
    {
        new TokenEventEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder)
            .requestId(9L).index(17).tokenId(151643).finishReason(FinishReason.STOP).timestampNanos(1_700_000_000_123L)
            .logprob(-0.25f).text(" world");
        assertHeader(TokenEventEncoder.TEMPLATE_ID);
        final TokenEventDecoder decoder = new TokenEventDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(9L, decoder.requestId());
        assertEquals(17, decoder.index());
        assertEquals(151643, decoder.tokenId());
        assertEquals(FinishReason.STOP, decoder.finishReason());
        assertEquals(1_700_000_000_123L, decoder.timestampNanos());
        assertEquals(-0.25f, decoder.logprob());
        assertEquals(" world", decoder.text());
    }

    @Test
    void requestError()
    {
        new RequestErrorEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder)
            .requestId(5L).code(ErrorCode.PROMPT_TOO_LONG).message("prompt has 40000 tokens; the limit is 32768");
        assertHeader(RequestErrorEncoder.TEMPLATE_ID);
        final RequestErrorDecoder decoder = new RequestErrorDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(5L, decoder.requestId());
        assertEquals(ErrorCode.PROMPT_TOO_LONG, decoder.code());
        assertEquals("prompt has 40000 tokens; the limit is 32768", decoder.message());
    }

    @Test
    void nodeHello()
    {
        new NodeHelloEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder)
            .nodeId(3).role(NodeRole.DECODE).modelFingerprint(0x1234_5678_9abc_def0L).totalKvPages(8192).pageSize(16)
            .maxBatchTokens(4096).modelName("Qwen/Qwen2.5-1.5B-Instruct")
            .controlChannel("aeron:udp?endpoint=10.0.0.3:40123").kvChannel("aeron:udp?endpoint=10.0.0.3:40124");
        assertHeader(NodeHelloEncoder.TEMPLATE_ID);
        final NodeHelloDecoder decoder = new NodeHelloDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(3, decoder.nodeId());
        assertEquals(NodeRole.DECODE, decoder.role());
        assertEquals(0x1234_5678_9abc_def0L, decoder.modelFingerprint());
        assertEquals(8192, decoder.totalKvPages());
        assertEquals(16, decoder.pageSize());
        assertEquals(4096, decoder.maxBatchTokens());
        assertEquals("Qwen/Qwen2.5-1.5B-Instruct", decoder.modelName());
        assertEquals("aeron:udp?endpoint=10.0.0.3:40123", decoder.controlChannel());
        assertEquals("aeron:udp?endpoint=10.0.0.3:40124", decoder.kvChannel());
    }

    @Test
    void heartbeat()
    {
        new HeartbeatEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder)
            .nodeId(2).timestampNanos(99L).freeKvPages(1000).queuedTokens(123_456_789_012L).runningSequences(40)
            .stepNanosP50(8_200_000L);
        assertHeader(HeartbeatEncoder.TEMPLATE_ID);
        final HeartbeatDecoder decoder = new HeartbeatDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(2, decoder.nodeId());
        assertEquals(99L, decoder.timestampNanos());
        assertEquals(1000, decoder.freeKvPages());
        assertEquals(123_456_789_012L, decoder.queuedTokens());
        assertEquals(40, decoder.runningSequences());
        assertEquals(8_200_000L, decoder.stepNanosP50());
    }

    @Test
    void prefillRequest()
    {
        final int[] tokens = {151644, 872, 198, 9707, 0, -1, Integer.MAX_VALUE};
        final ByteBuffer tokenBytes = ByteBuffer.allocate(tokens.length * Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        tokenBytes.asIntBuffer().put(tokens);
        new PrefillRequestEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder)
            .requestId(77L).decodeNodeId(4).maxNewTokens(600).temperature(0f).topP(1f).topK(0).seed(1L)
            .decodeKvChannel("aeron:udp?endpoint=10.0.0.4:40124")
            .putPromptTokens(tokenBytes.array(), 0, tokenBytes.capacity());
        assertHeader(PrefillRequestEncoder.TEMPLATE_ID);
        final PrefillRequestDecoder decoder = new PrefillRequestDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(77L, decoder.requestId());
        assertEquals(4, decoder.decodeNodeId());
        assertEquals(600, decoder.maxNewTokens());
        assertEquals(0f, decoder.temperature());
        assertEquals(1f, decoder.topP());
        assertEquals(0, decoder.topK());
        assertEquals(1L, decoder.seed());
        assertEquals("aeron:udp?endpoint=10.0.0.4:40124", decoder.decodeKvChannel());
        final byte[] decoded = new byte[decoder.promptTokensLength()];
        decoder.getPromptTokens(decoded, 0, decoded.length);
        final int[] decodedTokens = new int[decoded.length / Integer.BYTES];
        ByteBuffer.wrap(decoded).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(decodedTokens);
        assertArrayEquals(tokens, decodedTokens);
    }

    @Test
    void prefillDone()
    {
        new PrefillDoneEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder)
            .requestId(77L).nodeId(1).firstToken(9707).promptTokens(600).prefillNanos(31_000_000L)
            .kvStatus(KvTransferStatus.FAILED_TIMEOUT);
        assertHeader(PrefillDoneEncoder.TEMPLATE_ID);
        final PrefillDoneDecoder decoder = new PrefillDoneDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(77L, decoder.requestId());
        assertEquals(1, decoder.nodeId());
        assertEquals(9707, decoder.firstToken());
        assertEquals(600, decoder.promptTokens());
        assertEquals(31_000_000L, decoder.prefillNanos());
        assertEquals(KvTransferStatus.FAILED_TIMEOUT, decoder.kvStatus());
    }

    @Test
    void decodeAdmit()
    {
        final int[] stops = {151643, 151645};
        final ByteBuffer stopBytes = ByteBuffer.allocate(stops.length * Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        stopBytes.asIntBuffer().put(stops);
        new DecodeAdmitEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder)
            .requestId(77L).prefillNodeId(1).promptTokens(600).maxNewTokens(256).temperature(0.8f).topP(0.95f).topK(50)
            .seed(123L).putStopTokens(stopBytes.array(), 0, stopBytes.capacity());
        assertHeader(DecodeAdmitEncoder.TEMPLATE_ID);
        final DecodeAdmitDecoder decoder = new DecodeAdmitDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(77L, decoder.requestId());
        assertEquals(1, decoder.prefillNodeId());
        assertEquals(600, decoder.promptTokens());
        assertEquals(256, decoder.maxNewTokens());
        assertEquals(0.8f, decoder.temperature());
        assertEquals(0.95f, decoder.topP());
        assertEquals(50, decoder.topK());
        assertEquals(123L, decoder.seed());
        final byte[] decoded = new byte[decoder.stopTokensLength()];
        decoder.getStopTokens(decoded, 0, decoded.length);
        final int[] decodedStops = new int[decoded.length / Integer.BYTES];
        ByteBuffer.wrap(decoded).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(decodedStops);
        assertArrayEquals(stops, decodedStops);
    }

    @Test
    void decodeDone()
    {
        new DecodeDoneEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder)
            .requestId(77L).nodeId(4).generatedTokens(600).finishReason(FinishReason.LENGTH);
        assertHeader(DecodeDoneEncoder.TEMPLATE_ID);
        final DecodeDoneDecoder decoder = new DecodeDoneDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(77L, decoder.requestId());
        assertEquals(4, decoder.nodeId());
        assertEquals(600, decoder.generatedTokens());
        assertEquals(FinishReason.LENGTH, decoder.finishReason());
    }

    @Test
    void kvTransferBegin()
    {
        new KvTransferBeginEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder)
            .requestId(77L).modelFingerprint(-3L).layers(28).tokens(600).kvHeads(2).headDim(128).dtype(KvDtype.BF16)
            .totalBytes(28L * 2 * 600 * 2 * 128 * 2);
        assertHeader(KvTransferBeginEncoder.TEMPLATE_ID);
        final KvTransferBeginDecoder decoder = new KvTransferBeginDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(77L, decoder.requestId());
        assertEquals(-3L, decoder.modelFingerprint());
        assertEquals(28, decoder.layers());
        assertEquals(600, decoder.tokens());
        assertEquals(2, decoder.kvHeads());
        assertEquals(128, decoder.headDim());
        assertEquals(KvDtype.BF16, decoder.dtype());
        assertEquals(28L * 2 * 600 * 2 * 128 * 2, decoder.totalBytes());
    }

    @Test
    void kvChunk()
    {
        final byte[] payload = new byte[1024];
        for (int i = 0; i < payload.length; i++)
        {
            payload[i] = (byte)(i * 31 + 7);
        }
        new KvChunkEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder)
            .requestId(77L).layer(27).part(KvPart.V).tokenOffset(512).tokenCount(2)
            .putPayload(payload, 0, payload.length);
        assertHeader(KvChunkEncoder.TEMPLATE_ID);
        final KvChunkDecoder decoder = new KvChunkDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(77L, decoder.requestId());
        assertEquals(27, decoder.layer());
        assertEquals(KvPart.V, decoder.part());
        assertEquals(512, decoder.tokenOffset());
        assertEquals(2, decoder.tokenCount());
        final byte[] decoded = new byte[decoder.payloadLength()];
        decoder.getPayload(decoded, 0, decoded.length);
        assertArrayEquals(payload, decoded);
    }

    @Test
    void kvTransferEnd()
    {
        new KvTransferEndEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder)
            .requestId(77L).crc32c(0xCAFEBABE).firstToken(9707);
        assertHeader(KvTransferEndEncoder.TEMPLATE_ID);
        final KvTransferEndDecoder decoder = new KvTransferEndDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(77L, decoder.requestId());
        assertEquals(0xCAFEBABE, decoder.crc32c());
        assertEquals(9707, decoder.firstToken());
    }

    @Test
    void kvTransferAck()
    {
        for (final KvTransferStatus status : KvTransferStatus.values())
        {
            if (status == KvTransferStatus.NULL_VAL)
            {
                continue;
            }
            new KvTransferAckEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder).requestId(77L).status(status);
            assertHeader(KvTransferAckEncoder.TEMPLATE_ID);
            final KvTransferAckDecoder decoder = new KvTransferAckDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
            assertEquals(77L, decoder.requestId());
            assertEquals(status, decoder.status());
        }
    }
}
