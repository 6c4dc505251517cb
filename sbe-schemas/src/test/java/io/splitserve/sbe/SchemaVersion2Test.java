package io.splitserve.sbe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * The version-2 additions round-trip: client ids and ClientHello, node stream ids and the KV ack channel (var data
 * appended after the older var data), the sampled-token count, and the new enum values; and a message written without
 * a v2 field reads that field's null value.
 */
class SchemaVersion2Test
{
    private static final int OFFSET = 8;

    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
    private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();

    @Test
    void clientIdsAndClientHello()
    {
        new ClientHelloEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder).clientId(77L);
        assertEquals(77L, new ClientHelloDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder).clientId());
        assertEquals(ClientHelloDecoder.TEMPLATE_ID, headerDecoder.templateId());

        new TokenEventEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder).requestId(5).index(3).tokenId(9)
            .finishReason(FinishReason.PREEMPTED).timestampNanos(1).logprob(0f).clientId(77L).promptTokens(12).text("x");
        final TokenEventDecoder token = new TokenEventDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(FinishReason.PREEMPTED, token.finishReason());
        assertEquals(77L, token.clientId());
        assertEquals(12, token.promptTokens());
        assertEquals("x", token.text());

        new RequestErrorEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder).requestId(5)
            .code(ErrorCode.ROUTER_RESTARTED).clientId(77L).message("restarted");
        final RequestErrorDecoder error = new RequestErrorDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(ErrorCode.ROUTER_RESTARTED, error.code());
        assertEquals(77L, error.clientId());
    }

    @Test
    void nodeHelloAndPrefillRequestCarryStreamIdsAndAckChannels()
    {
        new NodeHelloEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder).nodeId(101).role(NodeRole.DECODE)
            .modelFingerprint(3L).totalKvPages(64).pageSize(16).maxBatchTokens(8).controlStreamId(20101)
            .kvStreamId(30101).kvAckStreamId(40101).modelName("demo").controlChannel("aeron:ipc").kvChannel("aeron:ipc")
            .kvAckChannel("aeron:udp?endpoint=127.0.0.1:0|control=127.0.0.1:44101|control-mode=dynamic");
        final NodeHelloDecoder hello = new NodeHelloDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(20101, hello.controlStreamId());
        assertEquals(30101, hello.kvStreamId());
        assertEquals(40101, hello.kvAckStreamId());
        assertEquals("demo", hello.modelName());
        assertEquals("aeron:ipc", hello.controlChannel());
        assertEquals("aeron:ipc", hello.kvChannel());
        assertEquals("aeron:udp?endpoint=127.0.0.1:0|control=127.0.0.1:44101|control-mode=dynamic", hello.kvAckChannel());

        final UnsafeBuffer tokens = new UnsafeBuffer(ByteBuffer.allocateDirect(12).order(ByteOrder.LITTLE_ENDIAN));
        for (int i = 0; i < 3; i++)
        {
            tokens.putInt(i * 4, 100 + i, ByteOrder.LITTLE_ENDIAN);
        }
        new PrefillRequestEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder).requestId(9).decodeNodeId(101)
            .maxNewTokens(5).temperature(0f).topP(1f).topK(0).seed(0).decodeKvStreamId(30101).decodeKvAckStreamId(40101)
            .sampledTokens(4).decodeKvChannel("kv").putPromptTokens(tokens, 0, 12).decodeKvAckChannel("ack");
        final PrefillRequestDecoder prefill = new PrefillRequestDecoder().wrapAndApplyHeader(buffer, OFFSET, headerDecoder);
        assertEquals(30101, prefill.decodeKvStreamId());
        assertEquals(40101, prefill.decodeKvAckStreamId());
        assertEquals(4, prefill.sampledTokens());
        assertEquals("kv", prefill.decodeKvChannel());
        final byte[] bytes = new byte[prefill.promptTokensLength()];
        prefill.getPromptTokens(bytes, 0, bytes.length);
        assertArrayEquals(new byte[] {100, 0, 0, 0, 101, 0, 0, 0, 102, 0, 0, 0}, bytes);
        assertEquals("ack", prefill.decodeKvAckChannel());
    }

    @Test
    void aVersion1DecodeAdmitReadsNullSampledTokens()
    {
        final DecodeAdmitEncoder encoder = new DecodeAdmitEncoder().wrapAndApplyHeader(buffer, OFFSET, headerEncoder);
        encoder.requestId(1).prefillNodeId(1).promptTokens(3).maxNewTokens(4).temperature(0f).topP(1f).topK(0).seed(0)
            .sampledTokens(2).putStopTokens(new byte[0], 0, 0);
        headerDecoder.wrap(buffer, OFFSET);
        final DecodeAdmitDecoder decoder = new DecodeAdmitDecoder()
            .wrap(buffer, OFFSET + MessageHeaderDecoder.ENCODED_LENGTH, headerDecoder.blockLength(), 1);
        assertEquals(DecodeAdmitDecoder.sampledTokensNullValue(), decoder.sampledTokens(),
            "a field newer than the acting version reads as null");
        assertEquals(4, decoder.maxNewTokens());
    }
}
