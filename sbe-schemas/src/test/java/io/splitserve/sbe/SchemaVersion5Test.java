package io.splitserve.sbe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * Version 5 lets a KV transfer leave out the leading tokens the receiver holds in its prefix cache: it appends
 * {@code cachedTokens} to KvTransferBegin and {@code decodeCachedTokens} to PrefillRequest, and adds the status
 * REJECTED_PREFIX_MISSING. Nodes are upgraded one at a time, so: a version-4 decoder reads version-5 messages' version-4
 * fields and trailing var-data unchanged, a version-5 decoder reads version-4 messages with the new fields at their
 * null value (which readers take as "nothing cached"), and a version-4 reader sees the new status only as its raw value.
 */
class SchemaVersion5Test
{
    private static final int[] TOKEN_IDS = {11, 12, 13, 14, 15};

    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));

    @Test
    void aVersion4DecoderReadsAVersion5BeginWithItsTokenIds()
    {
        final UnsafeBuffer ids = ids(TOKEN_IDS);
        new KvTransferBeginEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(3L).modelFingerprint(7L).layers(2).tokens(5).kvHeads(1).headDim(4).dtype(KvDtype.F32)
            .totalBytes(2L * 2 * 1 * 4 * 4).path(KvPath.HOST).cachedTokens(4)
            .putGpuExport(new byte[0], 0, 0).putTokenIds(ids, 0, ids.capacity());
        final io.splitserve.sbe.v4.MessageHeaderDecoder header = new io.splitserve.sbe.v4.MessageHeaderDecoder();
        final io.splitserve.sbe.v4.KvTransferBeginDecoder begin = new io.splitserve.sbe.v4.KvTransferBeginDecoder()
            .wrapAndApplyHeader(buffer, 0, header);
        assertEquals(KvTransferBeginEncoder.SCHEMA_VERSION, header.version()); // the current schema, read by version 4
        assertEquals(3L, begin.requestId());
        assertEquals(5, begin.tokens());
        assertEquals(io.splitserve.sbe.v4.KvPath.HOST, begin.path());
        assertEquals(0, begin.gpuExportLength());
        begin.skipGpuExport();
        final byte[] read = new byte[begin.tokenIdsLength()];
        begin.getTokenIds(read, 0, read.length);
        assertArrayEquals(ids.byteArray(), read);
    }

    @Test
    void aVersion5DecoderReadsVersion4MessagesWithNothingCached()
    {
        new io.splitserve.sbe.v4.KvTransferBeginEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderEncoder())
            .requestId(9L).modelFingerprint(1L).layers(2).tokens(3).kvHeads(4).headDim(8)
            .dtype(io.splitserve.sbe.v4.KvDtype.F32).totalBytes(768L).path(io.splitserve.sbe.v4.KvPath.GPU);
        final KvTransferBeginDecoder begin = new KvTransferBeginDecoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(KvTransferBeginDecoder.cachedTokensNullValue(), begin.cachedTokens());
        assertEquals(KvPath.GPU, begin.path());

        new io.splitserve.sbe.v4.PrefillRequestEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderEncoder())
            .requestId(8L).decodeNodeId(101).maxNewTokens(20).temperature(0f).topP(1f).topK(0).seed(6L)
            .decodeKvStreamId(30101).decodeKvAckStreamId(40101).sampledTokens(0).decodeKvChannel("kv")
            .putPromptTokens(ids(TOKEN_IDS), 0, 4 * TOKEN_IDS.length).decodeKvAckChannel("ack");
        final PrefillRequestDecoder request = new PrefillRequestDecoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(PrefillRequestDecoder.decodeCachedTokensNullValue(), request.decodeCachedTokens());
        assertEquals("kv", request.decodeKvChannel());
    }

    @Test
    void aVersion5PrefillRequestKeepsItsVarDataForAVersion4Reader()
    {
        new PrefillRequestEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(8L).decodeNodeId(101).maxNewTokens(20).temperature(0f).topP(1f).topK(0).seed(6L)
            .decodeKvStreamId(30101).decodeKvAckStreamId(40101).sampledTokens(1).decodeCachedTokens(32)
            .decodeKvChannel("kv").putPromptTokens(ids(TOKEN_IDS), 0, 4 * TOKEN_IDS.length)
            .decodeKvAckChannel("ack").putDecodeKvEndpoint(new byte[0], 0, 0);
        final io.splitserve.sbe.v4.PrefillRequestDecoder old = new io.splitserve.sbe.v4.PrefillRequestDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderDecoder());
        assertEquals(1, old.sampledTokens());
        assertEquals("kv", old.decodeKvChannel());
        assertEquals(4 * TOKEN_IDS.length, old.promptTokensLength());
        old.skipPromptTokens();
        assertEquals("ack", old.decodeKvAckChannel());

        final PrefillRequestDecoder now = new PrefillRequestDecoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(32, now.decodeCachedTokens());
    }

    /**
     * The attempt token (PrefillRequest, DecodeAdmit, KvTransferBegin) and the Begin's sender node id: a version-4
     * reader keeps the var data behind them, and a version-5 reader sees a version-4 message's as null values, which
     * nodes read as "none" (accepted only without a shared secret).
     */
    @Test
    void attemptTokensAreInvisibleToVersion4ReadersAndNullFromVersion4Writers()
    {
        new DecodeAdmitEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(4L).prefillNodeId(3).promptTokens(5).maxNewTokens(9).temperature(0f).topP(1f).topK(0).seed(2L)
            .sampledTokens(0).attemptToken(0x7A7A7A7A7AL).putStopTokens(ids(TOKEN_IDS), 0, 4 * TOKEN_IDS.length);
        final io.splitserve.sbe.v4.DecodeAdmitDecoder oldAdmit = new io.splitserve.sbe.v4.DecodeAdmitDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderDecoder());
        assertEquals(3, oldAdmit.prefillNodeId());
        assertEquals(4 * TOKEN_IDS.length, oldAdmit.stopTokensLength());
        assertEquals(0x7A7A7A7A7AL,
            new DecodeAdmitDecoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder()).attemptToken());

        new KvTransferBeginEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(3L).modelFingerprint(7L).layers(2).tokens(5).kvHeads(1).headDim(4).dtype(KvDtype.F32)
            .totalBytes(2L * 2 * 5 * 4 * 4).path(KvPath.HOST).cachedTokens(0).attemptToken(-5L).senderNodeId(12)
            .putGpuExport(new byte[0], 0, 0).putTokenIds(ids(TOKEN_IDS), 0, 4 * TOKEN_IDS.length);
        final io.splitserve.sbe.v4.KvTransferBeginDecoder oldBegin = new io.splitserve.sbe.v4.KvTransferBeginDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderDecoder());
        oldBegin.skipGpuExport();
        assertEquals(4 * TOKEN_IDS.length, oldBegin.tokenIdsLength());
        final KvTransferBeginDecoder begin = new KvTransferBeginDecoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(-5L, begin.attemptToken());
        assertEquals(12, begin.senderNodeId());

        new io.splitserve.sbe.v4.DecodeAdmitEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderEncoder())
            .requestId(4L).prefillNodeId(3).promptTokens(5).maxNewTokens(9).temperature(0f).topP(1f).topK(0).seed(2L)
            .sampledTokens(0).putStopTokens(new byte[0], 0, 0);
        assertEquals(DecodeAdmitDecoder.attemptTokenNullValue(),
            new DecodeAdmitDecoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder()).attemptToken());
        new io.splitserve.sbe.v4.KvTransferBeginEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderEncoder())
            .requestId(9L).modelFingerprint(1L).layers(2).tokens(3).kvHeads(4).headDim(8)
            .dtype(io.splitserve.sbe.v4.KvDtype.F32).totalBytes(768L).path(io.splitserve.sbe.v4.KvPath.HOST);
        final KvTransferBeginDecoder oldSender = new KvTransferBeginDecoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(KvTransferBeginDecoder.attemptTokenNullValue(), oldSender.attemptToken());
        assertEquals(KvTransferBeginDecoder.senderNodeIdNullValue(), oldSender.senderNodeId());
        new io.splitserve.sbe.v4.PrefillRequestEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderEncoder())
            .requestId(8L).decodeNodeId(101).maxNewTokens(20).temperature(0f).topP(1f).topK(0).seed(6L);
        assertEquals(PrefillRequestDecoder.attemptTokenNullValue(),
            new PrefillRequestDecoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder()).attemptToken());
    }

    @Test
    void aVersion4ReaderSeesTheNewStatusOnlyAsItsRawValue()
    {
        new KvTransferAckEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(4L).status(KvTransferStatus.REJECTED_PREFIX_MISSING);
        final io.splitserve.sbe.v4.KvTransferAckDecoder ack = new io.splitserve.sbe.v4.KvTransferAckDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderDecoder());
        assertEquals(KvTransferStatus.REJECTED_PREFIX_MISSING.value(), ack.statusRaw());
        for (io.splitserve.sbe.v4.KvTransferStatus known : io.splitserve.sbe.v4.KvTransferStatus.values())
        {
            if (known != io.splitserve.sbe.v4.KvTransferStatus.NULL_VAL)
            {
                assertEquals(false, known.value() == ack.statusRaw(), "version 4 knows no status " + ack.statusRaw());
            }
        }
    }

    @Test
    void aKeepAliveNamesItsTransfersAndIsATemplateVersion4DoesNotKnow()
    {
        final KvKeepAliveEncoder encoder = new KvKeepAliveEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder());
        encoder.transfersCount(2).next().requestId(41L).next().requestId(42L);
        final KvKeepAliveDecoder keepAlive = new KvKeepAliveDecoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        final KvKeepAliveDecoder.TransfersDecoder transfers = keepAlive.transfers();
        assertEquals(2, transfers.count());
        assertEquals(41L, transfers.next().requestId());
        assertEquals(42L, transfers.next().requestId());
        final io.splitserve.sbe.v4.MessageHeaderDecoder v4 = new io.splitserve.sbe.v4.MessageHeaderDecoder().wrap(buffer, 0);
        assertEquals(KvKeepAliveDecoder.TEMPLATE_ID, v4.templateId());
        assertEquals(false, v4.templateId() == io.splitserve.sbe.v4.KvTransferEndDecoder.TEMPLATE_ID
            || v4.templateId() == io.splitserve.sbe.v4.KvChunkDecoder.TEMPLATE_ID
            || v4.templateId() == io.splitserve.sbe.v4.KvTransferBeginDecoder.TEMPLATE_ID
            || v4.templateId() == io.splitserve.sbe.v4.KvLayerReadyDecoder.TEMPLATE_ID, "a version-4 receiver skips it");
    }

    private static UnsafeBuffer ids(final int[] tokens)
    {
        final UnsafeBuffer ids = new UnsafeBuffer(new byte[4 * tokens.length]);
        for (int i = 0; i < tokens.length; i++)
        {
            ids.putInt(4 * i, tokens[i], ByteOrder.LITTLE_ENDIAN);
        }
        return ids;
    }
}
