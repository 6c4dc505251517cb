package io.splitserve.sbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * Version 3 adds one enum value, {@code KvTransferStatus.FAILED_PREFILL}, and no field: a PrefillDone written by a
 * version-2 node reads the same in version 3, a version-3 PrefillDone with an older status reads the same in version
 * 2, and a version-2 decoder sees the new status only as its raw byte (its {@code kvStatus()} refuses the unknown
 * value), so a reader older than the prefill node must read {@code kvStatusRaw()}.
 */
class SchemaVersion3Test
{
    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(256));

    private void writePrefillDone(final KvTransferStatus status)
    {
        new PrefillDoneEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .requestId(41L).nodeId(2).firstToken(-1).promptTokens(17).prefillNanos(0L).kvStatus(status).kvBytes(0L);
    }

    @Test
    void failedPrefillRoundTripsAsVersion3()
    {
        writePrefillDone(KvTransferStatus.FAILED_PREFILL);
        final MessageHeaderDecoder header = new MessageHeaderDecoder();
        final PrefillDoneDecoder decoder = new PrefillDoneDecoder().wrapAndApplyHeader(buffer, 0, header);
        assertEquals(MessageHeaderEncoder.SCHEMA_VERSION, header.version()); // a version-3 status in the current schema
        assertEquals(KvTransferStatus.FAILED_PREFILL, decoder.kvStatus());
        assertEquals(41L, decoder.requestId());
        assertEquals(17, decoder.promptTokens());
    }

    @Test
    void aVersion2DecoderReadsAVersion3PrefillDoneAndSeesTheNewStatusOnlyRaw()
    {
        writePrefillDone(KvTransferStatus.FAILED_TIMEOUT);
        final io.splitserve.sbe.v2.PrefillDoneDecoder old = new io.splitserve.sbe.v2.PrefillDoneDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v2.MessageHeaderDecoder());
        assertEquals(io.splitserve.sbe.v2.KvTransferStatus.FAILED_TIMEOUT, old.kvStatus());
        assertEquals(41L, old.requestId());
        assertEquals(2, old.nodeId());

        writePrefillDone(KvTransferStatus.FAILED_PREFILL);
        final io.splitserve.sbe.v2.PrefillDoneDecoder oldOfNew = new io.splitserve.sbe.v2.PrefillDoneDecoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v2.MessageHeaderDecoder());
        assertEquals(KvTransferStatus.FAILED_PREFILL.value(), oldOfNew.kvStatusRaw());
        assertThrows(IllegalArgumentException.class, oldOfNew::kvStatus);
    }

    @Test
    void aVersion3DecoderReadsAVersion2PrefillDoneUnchanged()
    {
        new io.splitserve.sbe.v2.PrefillDoneEncoder()
            .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v2.MessageHeaderEncoder())
            .requestId(5L).nodeId(1).firstToken(9).promptTokens(3).prefillNanos(7L)
            .kvStatus(io.splitserve.sbe.v2.KvTransferStatus.REJECTED_NO_MEMORY).kvBytes(0L);
        final MessageHeaderDecoder header = new MessageHeaderDecoder();
        final PrefillDoneDecoder decoder = new PrefillDoneDecoder().wrapAndApplyHeader(buffer, 0, header);
        assertEquals(2, header.version());
        assertEquals(KvTransferStatus.REJECTED_NO_MEMORY, decoder.kvStatus());
        assertEquals(9, decoder.firstToken());
        assertEquals(7L, decoder.prefillNanos());
    }
}
