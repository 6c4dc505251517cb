package io.splitserve.sbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * Nodes are upgraded one at a time, so both directions must work: a version-0 decoder (codecs generated from the
 * test copy of the schema as it was before the sinceVersion="1" fields) reads a version-1 message by skipping the
 * appended fields, and a version-1 decoder reads a version-0 message, seeing null values for the fields it lacks.
 */
class SchemaEvolutionTest
{
    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));

    @Test
    void olderDecoderReadsNewerGenerateRequestIncludingGroupsAndVarDataAfterTheLongerBlock()
    {
        final GenerateRequestEncoder encoder = new GenerateRequestEncoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(11L).maxNewTokens(64).temperature(0.5f).topP(0.95f).topK(20).seed(3L)
            .promptFormat(PromptFormat.TEXT).priority((byte)9);
        encoder.stopStringsCount(1).next().text("STOP");
        encoder.model("m").prompt("Once upon a time");

        final io.splitserve.sbe.v0.MessageHeaderDecoder header = new io.splitserve.sbe.v0.MessageHeaderDecoder();
        final io.splitserve.sbe.v0.GenerateRequestDecoder old =
            new io.splitserve.sbe.v0.GenerateRequestDecoder().wrapAndApplyHeader(buffer, 0, header);
        assertEquals(GenerateRequestEncoder.SCHEMA_VERSION, header.version());
        assertTrue(header.blockLength() > io.splitserve.sbe.v0.GenerateRequestDecoder.BLOCK_LENGTH,
            "the newer block is longer, so the older decoder must skip bytes it does not know");
        assertEquals(11L, old.requestId());
        assertEquals(64, old.maxNewTokens());
        assertEquals(0.5f, old.temperature());
        assertEquals(0.95f, old.topP());
        assertEquals(20, old.topK());
        assertEquals(3L, old.seed());
        assertEquals(io.splitserve.sbe.v0.PromptFormat.TEXT, old.promptFormat());
        final io.splitserve.sbe.v0.GenerateRequestDecoder.StopStringsDecoder stops = old.stopStrings();
        assertEquals(1, stops.count());
        assertEquals("STOP", stops.next().text());
        assertEquals("m", old.model());
        assertEquals("Once upon a time", old.prompt());
    }

    @Test
    void olderDecoderReadsNewerTokenEventAndHeartbeat()
    {
        new TokenEventEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(1L).index(2).tokenId(3).finishReason(FinishReason.NONE).timestampNanos(4L).logprob(-1.5f).text("abc");
        final io.splitserve.sbe.v0.TokenEventDecoder oldToken = new io.splitserve.sbe.v0.TokenEventDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v0.MessageHeaderDecoder());
        assertEquals(1L, oldToken.requestId());
        assertEquals(2, oldToken.index());
        assertEquals(3, oldToken.tokenId());
        assertEquals(4L, oldToken.timestampNanos());
        assertEquals("abc", oldToken.text());

        new HeartbeatEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .nodeId(5).timestampNanos(6L).freeKvPages(7).queuedTokens(8L).runningSequences(9).stepNanosP50(10L);
        final io.splitserve.sbe.v0.HeartbeatDecoder oldHeartbeat = new io.splitserve.sbe.v0.HeartbeatDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v0.MessageHeaderDecoder());
        assertEquals(5, oldHeartbeat.nodeId());
        assertEquals(7, oldHeartbeat.freeKvPages());
        assertEquals(8L, oldHeartbeat.queuedTokens());
        assertEquals(9, oldHeartbeat.runningSequences());
    }

    @Test
    void newerDecoderReadsOlderMessagesWithNullForAppendedFields()
    {
        final io.splitserve.sbe.v0.TokenEventEncoder oldEncoder = new io.splitserve.sbe.v0.TokenEventEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v0.MessageHeaderEncoder());
        oldEncoder.requestId(21L).index(0).tokenId(100).finishReason(io.splitserve.sbe.v0.FinishReason.LENGTH)
            .timestampNanos(22L).text("xyz");
        final TokenEventDecoder token = new TokenEventDecoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(0, token.actingVersion());
        assertEquals(21L, token.requestId());
        assertEquals(FinishReason.LENGTH, token.finishReason());
        assertTrue(Float.isNaN(token.logprob()), "a field the older encoder never wrote reads as its null value");
        assertEquals("xyz", token.text());

        new io.splitserve.sbe.v0.HeartbeatEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v0.MessageHeaderEncoder())
            .nodeId(1).timestampNanos(2L).freeKvPages(3).queuedTokens(4L).runningSequences(5);
        final HeartbeatDecoder heartbeat = new HeartbeatDecoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(5, heartbeat.runningSequences());
        assertEquals(HeartbeatDecoder.stepNanosP50NullValue(), heartbeat.stepNanosP50());

        final io.splitserve.sbe.v0.GenerateRequestEncoder oldRequest = new io.splitserve.sbe.v0.GenerateRequestEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v0.MessageHeaderEncoder())
            .requestId(8L).maxNewTokens(1).temperature(0f).topP(1f).topK(0).seed(0L)
            .promptFormat(io.splitserve.sbe.v0.PromptFormat.TEXT);
        oldRequest.stopStringsCount(0);
        oldRequest.model("m").prompt("p");
        final GenerateRequestDecoder request = new GenerateRequestDecoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(8L, request.requestId());
        assertEquals(GenerateRequestDecoder.priorityNullValue(), request.priority());
        assertEquals(0, request.stopStrings().count());
        assertEquals("m", request.model());
        assertEquals("p", request.prompt());
    }
}
