package io.splitserve.sbe;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Fuzz target for {@link MessageBounds}: any bytes, placed as a fragment inside a larger buffer whose bytes after it
 * are garbage (as an Aeron term is), are refused or found to fit; and a message found to fit decodes in full (every
 * field, group and var-data value, through the generated decoders' {@code toString}) from the view bounded to the
 * fragment, so no decoder reads past it, loops, or allocates from a lying length. A plain build runs the committed
 * inputs under {@code src/test/resources/io/splitserve/sbe/MessageBoundsFuzzTestInputs/}; {@code JAZZER_FUZZ=1}
 * fuzzes (DESIGN.md, Testing).
 */
class MessageBoundsFuzzTest {
    private static final int TRAILING_GARBAGE = 64;
    private final MessageBounds bounds = new MessageBounds();

    @FuzzTest(maxDuration = "3m")
    void anyFragmentIsRefusedOrDecodesInsideIt(byte[] fragment) {
        final UnsafeBuffer term = new UnsafeBuffer(new byte[8 + fragment.length + TRAILING_GARBAGE]);
        term.setMemory(0, term.capacity(), (byte) 0x7f);
        term.putBytes(8, fragment);
        if (!bounds.fits(term, 8, fragment.length)) {
            return;
        }
        try {
            assertTrue(decodeAll(bounds.buffer(), bounds.header()).length() > 0);
        } catch (IllegalArgumentException e) { // an enum value this schema does not know: the adapters read raw values
            assertTrue(e.getMessage().startsWith("Unknown value"), e.getMessage());
        }
    }

    /** Every field of the message, as the generated decoders print it. */
    static String decodeAll(DirectBuffer buffer, MessageHeaderDecoder header) {
        return switch (header.templateId()) {
            case GenerateRequestDecoder.TEMPLATE_ID -> new GenerateRequestDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case CancelRequestDecoder.TEMPLATE_ID -> new CancelRequestDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case TokenEventDecoder.TEMPLATE_ID -> new TokenEventDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case RequestErrorDecoder.TEMPLATE_ID -> new RequestErrorDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case ClientHelloDecoder.TEMPLATE_ID -> new ClientHelloDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case NodeHelloDecoder.TEMPLATE_ID -> new NodeHelloDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case HeartbeatDecoder.TEMPLATE_ID -> new HeartbeatDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case PrefillRequestDecoder.TEMPLATE_ID -> new PrefillRequestDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case PrefillDoneDecoder.TEMPLATE_ID -> new PrefillDoneDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case FirstTokenDecoder.TEMPLATE_ID -> new FirstTokenDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case DecodeAdmitDecoder.TEMPLATE_ID -> new DecodeAdmitDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case DecodeDoneDecoder.TEMPLATE_ID -> new DecodeDoneDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case KvTransferBeginDecoder.TEMPLATE_ID -> new KvTransferBeginDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case KvChunkDecoder.TEMPLATE_ID -> new KvChunkDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case KvTransferEndDecoder.TEMPLATE_ID -> new KvTransferEndDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case KvLayerReadyDecoder.TEMPLATE_ID -> new KvLayerReadyDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case KvKeepAliveDecoder.TEMPLATE_ID -> new KvKeepAliveDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            case KvTransferAckDecoder.TEMPLATE_ID -> new KvTransferAckDecoder().wrapAndApplyHeader(buffer, 0, header).toString();
            default -> throw new AssertionError("fits() accepted unknown template " + header.templateId());
        };
    }
}
