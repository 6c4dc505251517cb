package io.splitserve.sbe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * Version 6 appends {@code resumeFromIndex} to GenerateRequest (a request a client sends again after a reconnect) and
 * {@code routerEpoch} to PrefillRequest and DecodeAdmit (the router instance that placed the work). Clients, routers
 * and nodes are upgraded one at a time, so a version-4 decoder reads version-6 messages' older fields and trailing
 * var-data unchanged, and a version-6 decoder reads older messages with the new fields at their null value (a first
 * send; no epoch, which nodes never drop work for).
 */
class SchemaVersion6Test
{
    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));

    @Test
    void aVersion4DecoderReadsVersion6Messages()
    {
        final GenerateRequestEncoder request = new GenerateRequestEncoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(41L).maxNewTokens(9).temperature(0f).topP(1f).topK(0).seed(3L).promptFormat(PromptFormat.TEXT)
            .priority((byte)0).clientId(77L).ignoreEos((short)1).resumeFromIndex(5);
        request.stopStringsCount(1).next().text("END");
        request.model("m").prompt("Once");
        final io.splitserve.sbe.v4.GenerateRequestDecoder old = new io.splitserve.sbe.v4.GenerateRequestDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderDecoder());
        assertEquals(41L, old.requestId());
        assertEquals(77L, old.clientId());
        final io.splitserve.sbe.v4.GenerateRequestDecoder.StopStringsDecoder stops = old.stopStrings();
        assertEquals("END", stops.next().text());
        assertEquals("m", old.model());
        assertEquals("Once", old.prompt());

        new DecodeAdmitEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(8L).prefillNodeId(1).promptTokens(4).maxNewTokens(20).temperature(0f).topP(1f).topK(0).seed(6L)
            .sampledTokens(0).attemptToken(99L).routerEpoch(123L).putStopTokens(new byte[] {2, 0, 0, 0}, 0, 4);
        final io.splitserve.sbe.v4.DecodeAdmitDecoder admit = new io.splitserve.sbe.v4.DecodeAdmitDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderDecoder());
        assertEquals(8L, admit.requestId());
        assertEquals(4, admit.stopTokensLength());
    }

    @Test
    void aVersion6DecoderReadsVersion4MessagesAsFirstSendsWithoutAnEpoch()
    {
        final io.splitserve.sbe.v4.GenerateRequestEncoder request = new io.splitserve.sbe.v4.GenerateRequestEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderEncoder())
            .requestId(41L).maxNewTokens(9).temperature(0f).topP(1f).topK(0).seed(3L)
            .promptFormat(io.splitserve.sbe.v4.PromptFormat.TEXT).priority((byte)0).clientId(77L).ignoreEos((short)0);
        request.stopStringsCount(0);
        request.model("").prompt("Once");
        final GenerateRequestDecoder generate = new GenerateRequestDecoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(GenerateRequestDecoder.resumeFromIndexNullValue(), generate.resumeFromIndex());
        generate.stopStrings();
        generate.skipModel();
        assertEquals("Once", generate.prompt());

        new io.splitserve.sbe.v4.DecodeAdmitEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderEncoder())
            .requestId(8L).prefillNodeId(1).promptTokens(4).maxNewTokens(20).temperature(0f).topP(1f).topK(0).seed(6L)
            .sampledTokens(0).putStopTokens(new byte[0], 0, 0);
        final DecodeAdmitDecoder admit = new DecodeAdmitDecoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(DecodeAdmitDecoder.routerEpochNullValue(), admit.routerEpoch());

        new io.splitserve.sbe.v4.PrefillRequestEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderEncoder())
            .requestId(8L).decodeNodeId(101).maxNewTokens(20).temperature(0f).topP(1f).topK(0).seed(6L)
            .decodeKvStreamId(30101).decodeKvAckStreamId(40101).sampledTokens(0).decodeKvChannel("kv")
            .putPromptTokens(new byte[] {1, 0, 0, 0}, 0, 4).decodeKvAckChannel("ack");
        final PrefillRequestDecoder prefill = new PrefillRequestDecoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(PrefillRequestDecoder.routerEpochNullValue(), prefill.routerEpoch());
        assertEquals("kv", prefill.decodeKvChannel());
    }
}
