package io.splitserve.sbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * A hello's proof covers every byte before it: the right secret verifies, another secret or any changed byte does
 * not; version-4 decoders still read a version-5 NodeHello and ClientHello that carry a proof (nodes and clients are
 * upgraded one at a time).
 */
class HelloProofTest {
    private static final byte[] SECRET = "0123456789abcdef-secret".getBytes(StandardCharsets.UTF_8);

    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));
    private final byte[] proof = new byte[HelloProof.LENGTH];

    private int signedHello(HelloProof signer, int nodeId) {
        final NodeHelloEncoder hello = new NodeHelloEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
                .nodeId(nodeId).role(NodeRole.DECODE).modelFingerprint(5L).totalKvPages(64).pageSize(16)
                .maxBatchTokens(8).controlStreamId(20101).kvStreamId(30101).kvAckStreamId(40101)
                .proofTimestampNanos(1_000L).proofNonce(77L)
                .modelName("demo").controlChannel("aeron:ipc").kvChannel("aeron:ipc").kvAckChannel("aeron:ipc")
                .putKvEndpoint(new byte[0], 0, 0);
        final int signed = MessageHeaderEncoder.ENCODED_LENGTH + hello.encodedLength();
        signer.sign(buffer, 0, signed, proof, 0);
        hello.putProof(proof, 0, proof.length);
        return signed;
    }

    @Test
    void theSameSecretVerifiesAndAnotherDoesNot() {
        final int signed = signedHello(new HelloProof(SECRET), 101);
        assertTrue(new HelloProof(SECRET).verify(buffer, 0, signed, proof, proof.length));
        final byte[] other = SECRET.clone();
        other[0] ^= 1;
        assertFalse(new HelloProof(other).verify(buffer, 0, signed, proof, proof.length));
        assertFalse(new HelloProof(SECRET).verify(buffer, 0, signed, proof, proof.length - 1), "a short proof");
    }

    @Test
    void everySignedByteCounts() {
        final int signed = signedHello(new HelloProof(SECRET), 101);
        final HelloProof verifier = new HelloProof(SECRET);
        for (int i = 0; i < signed; i++) {
            final byte b = buffer.getByte(i);
            buffer.putByte(i, (byte) (b ^ 0x40));
            assertFalse(verifier.verify(buffer, 0, signed, proof, proof.length), "byte " + i + " changed");
            buffer.putByte(i, b);
        }
        assertTrue(verifier.verify(buffer, 0, signed, proof, proof.length));
    }

    @Test
    void aShortSecretIsRefused() {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new HelloProof(new byte[HelloProof.MIN_SECRET_BYTES - 1]));
        assertTrue(e.getMessage().contains("at least 16 bytes"), e.getMessage());
    }

    @Test
    void theProofSitsLastWhereTheDecoderReadsIt() {
        final int signed = signedHello(new HelloProof(SECRET), 102);
        final NodeHelloDecoder hello = new NodeHelloDecoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        hello.skipModelName();
        hello.skipControlChannel();
        hello.skipKvChannel();
        hello.skipKvAckChannel();
        hello.skipKvEndpoint();
        assertEquals(signed, hello.limit(), "the decoder's limit before the proof is where signing stopped");
        assertEquals(HelloProof.LENGTH, hello.proofLength());
    }

    @Test
    void version4DecodersReadVersion5Hellos() {
        signedHello(new HelloProof(SECRET), 103);
        final io.splitserve.sbe.v4.NodeHelloDecoder v4 = new io.splitserve.sbe.v4.NodeHelloDecoder()
                .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderDecoder());
        assertEquals(103, v4.nodeId());
        assertEquals(40101, v4.kvAckStreamId());
        assertEquals("demo", v4.modelName());
        assertEquals("aeron:ipc", v4.controlChannel());
        assertEquals("aeron:ipc", v4.kvChannel());
        assertEquals("aeron:ipc", v4.kvAckChannel());
        assertEquals(0, v4.kvEndpointLength());

        new ClientHelloEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder()).clientId(42L)
                .proofTimestampNanos(3L).proofNonce(4L).putProof(proof, 0, proof.length);
        assertEquals(42L, new io.splitserve.sbe.v4.ClientHelloDecoder()
                .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderDecoder()).clientId());
    }

    @Test
    void version5DecodersReadVersion4HellosWithoutProof() {
        new io.splitserve.sbe.v4.NodeHelloEncoder()
                .wrapAndApplyHeader(buffer, 0, new io.splitserve.sbe.v4.MessageHeaderEncoder()).nodeId(1)
                .modelName("m").controlChannel("c").kvChannel("k").kvAckChannel("a").putKvEndpoint(new byte[0], 0, 0);
        final NodeHelloDecoder hello = new NodeHelloDecoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderDecoder());
        assertEquals(NodeHelloDecoder.proofNonceNullValue(), hello.proofNonce());
        hello.skipModelName();
        hello.skipControlChannel();
        hello.skipKvChannel();
        hello.skipKvAckChannel();
        hello.skipKvEndpoint();
        assertEquals(0, hello.proofLength(), "a version-4 hello carries no proof");
    }
}
