package io.splitserve.kvtransfer;

import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import io.splitserve.sbe.KvTransferAckDecoder;
import io.splitserve.sbe.KvTransferStatus;
import io.splitserve.sbe.MessageHeaderDecoder;
import org.agrona.DirectBuffer;

/**
 * Decodes acks arriving at a {@link KvSender}. A status value this version does not know (from a newer receiver)
 * is reported as FAILED_INCOMPATIBLE: the sender cannot tell that its KV was admitted, so it must not assume so.
 * Messages of other schemas or templates on the ack stream are ignored.
 */
final class KvAckAdapter implements FragmentHandler
{
    private static final KvTransferStatus[] STATUSES = KvTransferStatus.values();

    private final KvSender sender;
    private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
    private final KvTransferAckDecoder ackDecoder = new KvTransferAckDecoder();

    KvAckAdapter(final KvSender sender)
    {
        this.sender = sender;
    }

    @Override
    public void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        headerDecoder.wrap(buffer, offset);
        if (headerDecoder.schemaId() != KvTransferAckDecoder.SCHEMA_ID ||
            headerDecoder.templateId() != KvTransferAckDecoder.TEMPLATE_ID)
        {
            return;
        }
        ackDecoder.wrapAndApplyHeader(buffer, offset, headerDecoder);
        sender.onAck(ackDecoder.requestId(), statusOf(ackDecoder.statusRaw()));
    }

    private static KvTransferStatus statusOf(final short raw)
    {
        for (final KvTransferStatus status : STATUSES)
        {
            if (status.value() == raw && status != KvTransferStatus.NULL_VAL)
            {
                return status;
            }
        }
        return KvTransferStatus.FAILED_INCOMPATIBLE;
    }
}
